"""Queue an iTunes lookup for every song not enriched yet, wait for the workers, print a summary.

    python -m scripts.enrich_all [--limit N] [--older-than-days D | --all] [--retry-failed] [--no-wait]
                                 [--timeout S]

Needs the search service (PIXELPLAY_SEARCH_URL, PIXELPLAY_SERVICE_TOKEN), Redis (REDIS_URL) and at
least one worker (``celery -A services.enricher.worker worker``). Safe to interrupt and run again:
done songs are skipped and songs still queued are waited for, not queued twice. Exit status: 0 when
every queued task finished, 1 when some were still running at the timeout or on Ctrl-C, 2 when
search or Redis cannot be reached.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import redis

from services.common.clients.search import SearchClient
from services.common.contracts.search import EnrichmentStats
from services.common.http import ServiceError
from services.common.rate_limits import calls_per_second
from services.enricher.batch import (
    BatchReport,
    enqueue,
    failed_track_ids,
    format_duration,
    pending_track_ids,
    wait,
)
from services.enricher.settings import get_settings
from services.enricher.tasks import enrich_song
from services.enricher.worker import app, redis_url


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="queue at most this many songs")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--older-than-days",
        type=float,
        default=None,
        help="also refresh songs whose last lookup is older than this",
    )
    which.add_argument("--all", action="store_true", help="every song, whatever its status")
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="also songs whose last lookup failed (reads every song to find them)",
    )
    parser.add_argument("--no-wait", action="store_true", help="queue and exit; the workers carry on")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="stop waiting after this many seconds (default: the rate limit's time for "
        "the batch, doubled, plus 5 minutes)",
    )
    parser.add_argument("--progress-every", type=float, default=10.0, help="seconds between progress lines")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    return args


def lookups_per_second() -> float:
    """The pace the global iTunes limit allows, whatever the number of workers."""
    s = get_settings()
    return calls_per_second(s.itunes_calls_per_minute, s.itunes_rate_window_s)


def default_timeout(songs: int) -> float:
    """Twice the time the global rate limit needs for ``songs`` lookups, plus 5 minutes."""
    return 2 * songs / lookups_per_second() + 300


def print_summary(report: BatchReport, stats: EnrichmentStats | None) -> None:
    s = report.statuses
    print(f"this run: {report.queued} queued, {report.already_queued} already queued by an earlier run")
    print(
        f"  ok {s['ok']}, not_found {s['not_found']}, failed {s['failed']}; "
        f"already done by a duplicate {report.actions['skipped']}, "
        f"unknown tracks {report.actions['unknown_track']}, task errors {len(report.errors)}, "
        f"still running {report.unfinished}"
    )
    for error in report.errors[:10]:
        print(f"  error: {error}")
    if stats is not None:
        print(
            f"index: pending {stats.pending}, ok {stats.ok}, "
            f"not_found {stats.not_found}, failed {stats.failed}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        # Whatever was queued stays queued (and marked): a re-run waits for it instead of re-queueing.
        print("\ninterrupted: songs already queued stay queued; run this again to wait for them", flush=True)
        return 1


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    search = SearchClient(settings=settings, token=settings.service_token.get_secret_value())
    client = redis.Redis.from_url(redis_url(settings))
    try:
        track_ids = pending_track_ids(
            search, limit=args.limit, older_than_days=args.older_than_days, everything=args.all
        )
        if args.retry_failed and not args.all:
            chosen = set(track_ids)
            failed = [t for t in failed_track_ids(search, search.song) if t not in chosen]
            track_ids = (track_ids + failed)[: args.limit] if args.limit else track_ids + failed
        client.ping()
    except (ServiceError, redis.RedisError) as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    if not track_ids:
        print("nothing to enrich: every song already has a result")
        print_summary(BatchReport(), search.enrichment_stats())
        return 0

    def send(track_id: str, task_id: str, requested_at: float) -> None:
        enrich_song.apply_async(args=[track_id], kwargs={"requested_at": requested_at}, task_id=task_id)

    def is_finished(task_id: str) -> bool:
        return app.AsyncResult(task_id).ready()

    tickets = enqueue(
        track_ids,
        client=client,
        queue=settings.queue,
        mark_ttl_s=settings.mark_ttl_s,
        send=send,
        is_finished=is_finished,
    )
    new = sum(t.new for t in tickets)
    print(
        f"{len(tickets)} songs to enrich, most popular first: {new} queued now, "
        f"{len(tickets) - new} already queued; ETA {format_duration(len(tickets) / lookups_per_second())} "
        "at the iTunes limit"
    )
    if args.no_wait:
        return 0
    timeout = args.timeout if args.timeout is not None else default_timeout(len(tickets))
    print(
        f"waiting for the workers (at most {timeout:.0f} s; Ctrl-C stops waiting, not the work)", flush=True
    )
    report = wait(
        tickets,
        app.AsyncResult,
        timeout_s=timeout,
        progress_every_s=args.progress_every,
        on_progress=lambda r: print(r.progress_line(len(tickets), lookups_per_second()), flush=True),
    )
    try:
        stats = search.enrichment_stats()
    except ServiceError as exc:
        print(f"(search stats unavailable: {exc})")
        stats = None
    print_summary(report, stats)
    return 1 if report.unfinished else 0


if __name__ == "__main__":
    sys.exit(main())
