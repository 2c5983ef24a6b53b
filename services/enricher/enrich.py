"""Enrich one song: read it from search, look it up on iTunes, pick the match, write the result back.

No Celery and no HTTP here: the store (the search service's API) and the lookup (iTunes) are passed
in, so the decision logic is tested directly and the task stays a thin wrapper.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from services.common.contracts.search import EnrichmentResult
from services.common.contracts.songs import Enrichment, Song
from services.common.media_urls import ART_HOSTS, PREVIEW_HOSTS, STORE_LINK_HOSTS, allowed_url
from services.enricher.itunes import large_artwork
from services.enricher.matching import best_match, search_term
from services.enricher.retrying_get import LookupFailed
from services.enricher.schemas import Candidate, ScoredCandidate, SongQuery, TaskOutcome
from services.enricher.stored_results import DONE_STATUSES, keep_previous, written

log = logging.getLogger(__name__)


class SongStore(Protocol):
    """The part of the search service's API the enricher writes through."""

    def song(self, track_id: str) -> Song: ...

    def update_enrichment(self, track_id: str, enrichment: Enrichment) -> EnrichmentResult: ...


Lookup = Callable[[str], list[Candidate]]


def enrichment_for(
    song: Song, candidates: list[Candidate], threshold: float, looked_up_at: float
) -> Enrichment:
    """The result to store for ``song`` given iTunes' candidates (pure).

    Every field is set, so a new result fully replaces an old one: a song that no longer matches
    loses the preview it had, instead of keeping another song's.
    """
    query = SongQuery(
        track_id=song.track_id, title=song.title, artist=song.artist, duration_ms=song.duration_ms
    )
    accepted, best = best_match(query, candidates, threshold)
    if accepted is None:
        return Enrichment(
            enrich_status="not_found",
            enrich_reason=_miss_reason(best, threshold, len(candidates)),
            enriched_at=looked_up_at,
            match_score=best.match.score if best else None,
        )
    c = accepted.candidate
    return Enrichment(
        enrich_status="ok",
        enrich_reason=None,
        enriched_at=looked_up_at,
        # Untrusted answers: a URL that is not https on the expected hosts is dropped, not stored.
        art_url=allowed_url(large_artwork(c.artwork_url), ART_HOSTS),
        preview_url=allowed_url(c.preview_url, PREVIEW_HOSTS),
        itunes_url=allowed_url(c.itunes_url, STORE_LINK_HOSTS),
        itunes_id=c.itunes_id,
        itunes_genre=c.genre,
        itunes_year=c.release_year,
        match_score=accepted.match.score,
    )


def _miss_reason(best: ScoredCandidate | None, threshold: float, count: int) -> str:
    if best is None:
        return "no song results from iTunes"
    c, m = best.candidate, best.match
    return (
        f"best of {count} candidates scored {m.score:.2f} < {threshold:.2f}: "
        f"{c.artist!r} - {c.title!r} (title {m.title:.2f}, artist {m.artist:.2f}, "
        f"duration {'n/a' if m.duration is None else f'{m.duration:.2f}'})"
    )


def enrich(
    track_id: str,
    *,
    store: SongStore,
    lookup: Lookup,
    threshold: float,
    requested_at: float | None = None,
    clock: Callable[[], float] = time.time,
) -> TaskOutcome:
    """Run one enrichment and store it; return what happened.

    Idempotent: when the song already got a final result (ok / not_found) at or after
    ``requested_at``, an earlier delivery of this same request did the work and nothing is called.
    A failed lookup never replaces a final result: the song keeps what it had.
    Raises what the store raises when search is unreachable (the task re-queues itself then).
    """
    song = store.song(track_id)
    if (
        requested_at is not None
        and song.enrich_status in DONE_STATUSES
        and song.enriched_at is not None
        and song.enriched_at >= requested_at
    ):
        return TaskOutcome(
            track_id=track_id,
            action="skipped",
            status=song.enrich_status,
            reason="already enriched since this request",
            match_score=song.match_score,
        )
    # The lookup time travels with the result, so the search service can drop a stale write.
    looked_up_at = clock()
    try:
        candidates = lookup(search_term(song.title, song.artist))
    except LookupFailed as exc:
        if (kept := keep_previous(track_id, "iTunes", song.enrich_status, exc)) is not None:
            return kept
        enrichment = Enrichment(enrich_status="failed", enrich_reason=str(exc), enriched_at=looked_up_at)
    else:
        enrichment = enrichment_for(song, candidates, threshold, looked_up_at)
    answer = store.update_enrichment(track_id, enrichment)
    outcome = written(
        track_id, answer, enrichment.enrich_status, enrichment.enrich_reason, enrichment.match_score
    )
    log.info(
        "song %s: %s (score %s)%s",
        track_id,
        enrichment.enrich_status,
        enrichment.match_score,
        "" if outcome.action == "stored" else " - a newer result was already stored",
    )
    return outcome
