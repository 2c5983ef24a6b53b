"""The run command's enrichment worker reads every queue the enricher defines, on-screen ones first."""

from __future__ import annotations

from scripts.run import enricher_argv
from services.common.enrich_requests import queue_names
from services.enricher.settings import EnricherSettings
from services.enricher.worker import make_celery


def consumed_queues(argv: list[str], configured: list[str]) -> list[str]:
    """What ``celery worker`` with ``argv`` consumes: its ``-Q`` list, else every configured queue."""
    if "-Q" in argv:
        return argv[argv.index("-Q") + 1].split(",")
    return configured


def test_the_run_command_worker_consumes_the_on_screen_queues_before_the_backlog(isolated_settings):
    settings = isolated_settings(EnricherSettings)
    celery = make_celery(settings)
    configured = [q.name for q in celery.conf.task_queues]
    wanted = list(queue_names(settings.queue).in_priority_order())
    assert configured == wanted
    assert consumed_queues(enricher_argv(), configured) == wanted
