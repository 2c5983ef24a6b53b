"""How a new lookup result meets the one already stored, the same for both sources (iTunes, oEmbed).

A final result (ok or not_found) is worth more than a failed call: a source that fails after it once
answered keeps its answer, so a flaky outside API never blanks a card.
"""

from __future__ import annotations

import logging

from services.common.contracts.search import EnrichmentResult
from services.enricher.schemas import TaskOutcome

log = logging.getLogger(__name__)

DONE_STATUSES = ("ok", "not_found")


def keep_previous(track_id: str, source: str, previous_status: str, exc: Exception) -> TaskOutcome | None:
    """The outcome of keeping a final result after a failed lookup; None when there is none to keep."""
    if previous_status not in DONE_STATUSES:
        return None
    log.warning("%s lookup for %s failed (%s); keeping its %s result", source, track_id, exc, previous_status)
    return TaskOutcome(
        track_id=track_id,
        action="skipped",
        status="failed",
        reason=f"kept previous {previous_status} result: {exc}",
    )


def written(
    track_id: str,
    answer: EnrichmentResult,
    status: str,
    reason: str | None,
    match_score: float | None = None,
) -> TaskOutcome:
    """The outcome of writing a lookup result, from search's ``answer``: stored, or stale when a
    newer result was already there."""
    action = "stored" if answer.applied else "stale"
    return TaskOutcome(
        track_id=track_id, action=action, status=status, reason=reason, match_score=match_score
    )
