"""Find a song by its name: the search box that starts "Find similar" from a song."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.common.contracts.search import NameMatches
from services.search.deps import StoreDep
from services.search.names import find_by_name

router = APIRouter(tags=["songs"])


# Declared before /songs/{track_id} (app.py includes this router first) so "names" is no track id.
@router.get("/songs/names", response_model=NameMatches)
def song_names(
    store: StoreDep,
    q: Annotated[str, Query(max_length=200, description="words of the title and/or the artist")] = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 8,
) -> NameMatches:
    """Songs matching as-you-type words ("bohemian rhap", "daft punk"); none match: an empty list."""
    return NameMatches(matches=find_by_name(store, q, limit))
