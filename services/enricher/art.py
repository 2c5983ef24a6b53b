"""Fill one song's Spotify art: read it from search, ask oEmbed, write the ``spotify_art_*`` fields.

No Celery and no HTTP here (like ``enrich.py``): the store and the lookup are passed in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from services.common.contracts.search import EnrichmentResult
from services.common.contracts.songs import Song, SpotifyArt
from services.enricher.retrying_get import LookupFailed, NotFound
from services.enricher.schemas import TaskOutcome
from services.enricher.stored_results import keep_previous, written

log = logging.getLogger(__name__)

ArtLookup = Callable[[str], str | None]


class ArtStore(Protocol):
    def song(self, track_id: str) -> Song: ...

    def update_spotify_art(self, track_id: str, art: SpotifyArt) -> EnrichmentResult: ...


def fetch_art(
    track_id: str, *, store: ArtStore, lookup: ArtLookup, clock: Callable[[], float] = time.time
) -> TaskOutcome:
    """Look the song's art up once and store it; a song that has art already is skipped.

    A failed call never replaces a final result (the song keeps the art it had). Raises what the
    store raises when search is unreachable (the task re-queues itself then).
    """
    song = store.song(track_id)
    if song.spotify_art_status == "ok":
        return TaskOutcome(track_id=track_id, action="skipped", status="ok", reason="art already stored")
    asked_at = clock()
    try:
        url = lookup(track_id)
    except NotFound as exc:
        art = SpotifyArt(spotify_art_status="not_found", spotify_art_reason=str(exc), spotify_art_at=asked_at)
    except LookupFailed as exc:
        if (kept := keep_previous(track_id, "Spotify art", song.spotify_art_status, exc)) is not None:
            return kept
        art = SpotifyArt(spotify_art_status="failed", spotify_art_reason=str(exc), spotify_art_at=asked_at)
    else:
        art = SpotifyArt(
            spotify_art_status="ok" if url else "not_found",
            spotify_art_reason=None if url else "no usable thumbnail_url in the oEmbed answer",
            spotify_art_url=url,
            spotify_art_at=asked_at,
        )
    answer = store.update_spotify_art(track_id, art)
    log.info("song %s: Spotify art %s", track_id, art.spotify_art_status)
    return written(track_id, answer, art.spotify_art_status, art.spotify_art_reason)
