"""Song reads for everyone; enrichment writes, the pending list and stats for the enricher."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from services.common.contracts.search import (
    EnrichmentResult,
    EnrichmentStats,
    EnrichmentUpdate,
    PendingPage,
    SpotifyArtUpdate,
)
from services.common.contracts.songs import Song
from services.search import enrichment
from services.search.deps import EngineDep, Internal, StoreDep

router = APIRouter(tags=["songs"])


# Declared before /songs/{track_id} so "enrichment" is never read as a track id.
@router.get("/songs/enrichment/pending", response_model=PendingPage, dependencies=Internal)
def pending_enrichment(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[str | None, Query(description="the 'next' cursor of the previous page")] = None,
    older_than_days: Annotated[float | None, Query(ge=0)] = None,
    all: Annotated[bool, Query(description="every song, whatever its status")] = False,  # noqa: A002
) -> PendingPage:
    """Track ids still waiting for a lookup (plus, with ``older_than_days``, stale ones)."""
    try:
        track_ids, popularity, nxt = enrichment.pending(store, limit, after, older_than_days, all)
    except ValueError as exc:  # a malformed cursor
        raise HTTPException(422, f"bad 'after' cursor: {exc}") from None
    return PendingPage(track_ids=track_ids, popularity=popularity, next=nxt)


MAX_SONGS_PER_READ = 100


@router.get("/songs", response_model=list[Song])
def get_songs(
    engine: EngineDep,
    ids: Annotated[str, Query(description="comma-separated track ids", max_length=4000)],
) -> list[Song]:
    """Several songs in one read (cards refreshing their art); unknown ids are left out."""
    track_ids = list(dict.fromkeys(t.strip() for t in ids.split(",") if t.strip()))
    if not track_ids or len(track_ids) > MAX_SONGS_PER_READ:
        raise HTTPException(422, f"give between 1 and {MAX_SONGS_PER_READ} track ids")
    return engine.songs(track_ids)


@router.get("/songs/{track_id}", response_model=Song)
def get_song(track_id: str, engine: EngineDep) -> Song:
    return engine.song(track_id)


@router.patch("/songs/{track_id}/enrichment", response_model=EnrichmentResult, dependencies=Internal)
def update_enrichment(track_id: str, body: EnrichmentUpdate, store: StoreDep) -> EnrichmentResult:
    """Store a lookup result; one older than the stored ``enriched_at`` is ignored (``applied``: false)."""
    return enrichment.apply_enrichment(store, track_id, body)


@router.patch("/songs/{track_id}/spotify-art", response_model=EnrichmentResult, dependencies=Internal)
def update_spotify_art(track_id: str, body: SpotifyArtUpdate, store: StoreDep) -> EnrichmentResult:
    """Store an oEmbed art result; one older than the stored ``spotify_art_at`` is ignored."""
    return enrichment.apply_spotify_art(store, track_id, body)


@router.get("/stats/enrichment", response_model=EnrichmentStats, dependencies=Internal)
def enrichment_stats(store: StoreDep) -> EnrichmentStats:
    return enrichment.stats(store)
