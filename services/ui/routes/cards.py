"""Cards on screen fill in by themselves: the page polls this route for the songs still waiting.

The answer is card HTML made by ``cards.py`` (the one place that escapes text and checks URLs), so
the page's script only swaps elements and never builds markup from data.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from services.common.http import ServiceError
from services.ui.cards import card_update
from services.ui.deps import SearchDep

log = logging.getLogger("pixelplay.ui")

MAX_IDS = 48  # a few pages of cards; the page asks only for the ones still waiting
_TRACK_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")
CARD_UPDATES_PATH = "/cards/enrichment"

router = APIRouter(tags=["cards"])


@router.get(CARD_UPDATES_PATH)
def card_updates(ids: Annotated[str, Query(max_length=4000)], search: SearchDep) -> dict[str, Any]:
    """``{"cards": {track_id: {"art", "preview", "done"}}}`` for the given cards."""
    track_ids = list(dict.fromkeys(t for t in ids.split(",") if t))
    if not track_ids or len(track_ids) > MAX_IDS or not all(_TRACK_ID.fullmatch(t) for t in track_ids):
        raise HTTPException(422, f"give between 1 and {MAX_IDS} track ids (letters and digits)")
    try:
        songs = search.songs(track_ids)
    except ServiceError as exc:
        log.warning("card updates unavailable: %s", exc)
        raise HTTPException(503, "song details are unavailable right now") from None
    return {"cards": {song.track_id: card_update(song) for song in songs}}
