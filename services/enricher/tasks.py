"""Celery tasks of the enricher. Thin: the decisions live in ``enrich.py``.

Task options (with the app's defaults in ``worker.py``): acknowledged late and rejected on worker
loss, so a task whose worker dies runs again; running again is harmless (see ``enrich.enrich``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from services.common.enrich_requests import ART_TASK, ENRICH_TASK
from services.common.http import ServiceError, ServiceUnavailable
from services.enricher import queue_marks
from services.enricher.art import fetch_art
from services.enricher.deps import itunes_client, redis_client, search_client, spotify_art_client
from services.enricher.enrich import enrich
from services.enricher.rate_limit import RateLimitTimeout
from services.enricher.schemas import TaskOutcome
from services.enricher.settings import get_settings
from services.enricher.worker import app

log = logging.getLogger(__name__)

REQUEUE_MAX_S = 600  # longest delay before a re-queued task runs again
# Celery's own cap on re-queues; the requeue_max_tries setting is checked before it.
REQUEUE_CEILING = 1000


def _search_is_down(exc: ServiceError) -> bool:
    """Unreachable, or answering 5xx (e.g. 503 while the index is being built): worth waiting for."""
    return isinstance(exc, ServiceUnavailable) or exc.status >= 500


def _run(task: Any, track_id: str, work: Callable[[], TaskOutcome]) -> dict[str, Any]:
    """Run ``work`` for one song; re-queue the task while search is down or no rate slot came."""
    settings = get_settings()
    try:
        outcome = work()
    except (ServiceError, RateLimitTimeout) as exc:
        if isinstance(exc, ServiceError) and not _search_is_down(exc):
            queue_marks.release(redis_client(), settings.queue, track_id, task.request.id)
            if exc.status == 404:
                log.warning("song %s is not in the index; nothing to enrich", track_id)
                return TaskOutcome(track_id=track_id, action="unknown_track", reason=exc.detail).model_dump()
            raise  # search refused what we sent (401/403/422): a bug or a wrong token, not worth retrying
        # Nothing was decided: try the whole task again later instead of recording a failure.
        if task.request.retries >= settings.requeue_max_tries:
            # Give up for now: the song stays pending, the next batch run queues it again.
            queue_marks.release(redis_client(), settings.queue, track_id, task.request.id)
            log.error("song %s: %s; giving up after %d re-queues", track_id, exc, task.request.retries)
            raise exc
        countdown = min(REQUEUE_MAX_S, settings.requeue_initial_s * 2**task.request.retries)
        log.warning("song %s: %s; re-queued in %.1fs", track_id, exc, countdown)
        raise task.retry(exc=exc, countdown=countdown) from exc
    queue_marks.release(redis_client(), settings.queue, track_id, task.request.id)
    return outcome.model_dump()


# Both tasks: acknowledged late and rejected on worker loss (a task whose worker dies runs again;
# running again is harmless), bound so they can re-queue themselves.
TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": REQUEUE_CEILING,
}


@app.task(name=ENRICH_TASK, **TASK_OPTIONS)
def enrich_song(self, track_id: str, requested_at: float | None = None) -> dict[str, Any]:
    """Enrich one song (by catalog track id) from iTunes and store the result through search.

    ``requested_at`` (unix time the batch asked) lets a duplicate delivery see the work was done.
    Returns a ``TaskOutcome`` as a dict.
    """
    settings = get_settings()
    return _run(
        self,
        track_id,
        lambda: enrich(
            track_id,
            store=search_client(),
            lookup=itunes_client().search,
            threshold=settings.match_threshold,
            requested_at=requested_at,
        ),
    )


@app.task(name=ART_TASK, **TASK_OPTIONS)
def fetch_spotify_art(self, track_id: str) -> dict[str, Any]:
    """Store one song's album art from Spotify oEmbed; returns a ``TaskOutcome`` as a dict."""
    return _run(
        self,
        track_id,
        lambda: fetch_art(track_id, store=search_client(), lookup=spotify_art_client().art_url),
    )
