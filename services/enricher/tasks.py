"""Celery tasks of the enricher. Thin: the decisions live in ``enrich.py``.

Task options (with the app's defaults in ``worker.py``): acknowledged late and rejected on worker
loss, so a task whose worker dies runs again; running again is harmless (see ``enrich.enrich``).
"""

from __future__ import annotations

import logging
from typing import Any

from services.common.http import ServiceError, ServiceUnavailable
from services.common.settings import get_settings
from services.enricher import queue_marks
from services.enricher.deps import itunes_client, redis_client, search_client
from services.enricher.enrich import enrich
from services.enricher.rate_limit import RateLimitTimeout
from services.enricher.schemas import TaskOutcome
from services.enricher.worker import app

log = logging.getLogger(__name__)

REQUEUE_MAX_S = 600  # longest delay before a re-queued task runs again
# Celery's own cap on re-queues; the enrich_requeue_max_tries setting is checked before it.
REQUEUE_CEILING = 1000


def _search_is_down(exc: ServiceError) -> bool:
    """Unreachable, or answering 5xx (e.g. 503 while the index is being built): worth waiting for."""
    return isinstance(exc, ServiceUnavailable) or exc.status >= 500


@app.task(
    bind=True,
    name="enricher.enrich_song",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=REQUEUE_CEILING,
)
def enrich_song(self, track_id: str, requested_at: float | None = None) -> dict[str, Any]:
    """Enrich one song (by catalog track id) and store the result through the search service.

    ``requested_at`` (unix time the batch asked) lets a duplicate delivery see the work was done.
    Returns a ``TaskOutcome`` as a dict.
    """
    settings = get_settings()
    try:
        outcome = enrich(
            track_id,
            store=search_client(),
            lookup=itunes_client().search,
            threshold=settings.enrich_match_threshold,
            requested_at=requested_at,
        )
    except (ServiceError, RateLimitTimeout) as exc:
        if isinstance(exc, ServiceError) and not _search_is_down(exc):
            queue_marks.release(redis_client(), settings.enrich_queue, track_id)
            if exc.status == 404:
                log.warning("song %s is not in the index; nothing to enrich", track_id)
                return TaskOutcome(track_id=track_id, action="unknown_track", reason=exc.detail).model_dump()
            raise  # search refused what we sent (401/403/422): a bug or a wrong token, not worth retrying
        # Nothing was decided: try the whole task again later instead of recording a failure.
        if self.request.retries >= settings.enrich_requeue_max_tries:
            # Give up for now: the song stays pending, the next batch run queues it again.
            queue_marks.release(redis_client(), settings.enrich_queue, track_id)
            log.error("song %s: %s; giving up after %d re-queues", track_id, exc, self.request.retries)
            raise exc
        countdown = min(REQUEUE_MAX_S, settings.enrich_requeue_initial_s * 2**self.request.retries)
        log.warning("song %s: %s; re-queued in %.1fs", track_id, exc, countdown)
        raise self.retry(exc=exc, countdown=countdown) from exc
    queue_marks.release(redis_client(), settings.enrich_queue, track_id)
    return outcome.model_dump()
