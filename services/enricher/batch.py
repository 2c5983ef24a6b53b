"""The batch job's logic: list the songs to enrich, queue each once, wait and count the outcomes.

Used by ``scripts/enrich_all.py``. Safe to interrupt and run again: songs already enriched are not
listed by search, and songs still queued from an earlier run (a Redis mark per song, see
``queue_marks``) are waited for instead of being queued twice.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis

from services.common.contracts.search import PendingPage
from services.common.contracts.songs import Song
from services.enricher import queue_marks


class PendingSource(Protocol):
    def pending_enrichment(
        self,
        limit: int = 100,
        after: str | None = None,
        older_than_days: float | None = None,
        all: bool = False,
    ) -> PendingPage: ...


class TaskResult(Protocol):
    """The part of Celery's ``AsyncResult`` the batch reads."""

    def ready(self) -> bool: ...

    def successful(self) -> bool: ...

    @property
    def result(self) -> Any: ...


@dataclass
class Ticket:
    track_id: str
    task_id: str
    new: bool  # False: queued by an earlier run and still waiting


@dataclass
class BatchReport:
    """Outcomes of this run's tasks: status counts (ok / not_found / failed) and other endings."""

    queued: int = 0
    already_queued: int = 0
    statuses: Counter = field(default_factory=Counter)  # ok / not_found / failed, as stored
    actions: Counter = field(default_factory=Counter)  # stored / skipped / stale / unknown_track / error
    errors: list[str] = field(default_factory=list)  # task failures (search refused, retries exhausted)
    unfinished: int = 0

    @property
    def finished(self) -> int:
        return sum(self.actions.values())

    def progress_line(self, total: int, songs_per_second: float | None = None) -> str:
        """ "12/40 done (30%): ok ..., ETA 1m24s"; the ETA is the rest at the rate limit's pace."""
        s = self.statuses
        share = f" ({100 * self.finished / total:.0f}%)" if total else ""
        eta = ""
        if songs_per_second and total > self.finished:
            eta = f", ETA {format_duration((total - self.finished) / songs_per_second)}"
        return (
            f"{self.finished}/{total} done{share}: ok {s['ok']}, not_found {s['not_found']}, "
            f"failed {s['failed']}{f', errors {len(self.errors)}' if self.errors else ''}{eta}"
        )


def format_duration(seconds: float) -> str:
    """3725 -> "1h02m05s", 84 -> "1m24s", 7 -> "7s"."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def pending_track_ids(
    source: PendingSource,
    *,
    limit: int | None = None,
    older_than_days: float | None = None,
    everything: bool = False,
    page_size: int = 500,
) -> list[str]:
    """Track ids search says need a lookup, most popular first (at most ``limit``).

    Every page is read before sorting, so ``limit`` takes the most popular songs, not the first
    ones stored: the songs people see most are enriched first.
    """
    songs: list[tuple[str, int]] = []
    after: str | None = None
    while True:
        page = source.pending_enrichment(
            limit=page_size, after=after, older_than_days=older_than_days, all=everything
        )
        popularity = page.popularity or [None] * len(page.track_ids)
        songs.extend((tid, pop or 0) for tid, pop in zip(page.track_ids, popularity, strict=True))
        after = page.next
        if not after or not page.track_ids:
            break
    # sorted() is stable: equal popularity keeps search's order, so a re-run queues the same order.
    ordered = [tid for tid, _ in sorted(songs, key=lambda s: -s[1])]
    return ordered if limit is None else ordered[:limit]


def failed_track_ids(
    source: PendingSource,
    read_song: Callable[[str], Song],
    *,
    limit: int | None = None,
    page_size: int = 500,
) -> list[str]:
    """Track ids whose last lookup ended ``failed`` (at most ``limit``).

    Search's pending list has no status filter, so this reads every song: about a minute for the
    whole catalog. It is for an explicit retry (``enrich_all --retry-failed``), not every run.
    """
    ids: list[str] = []
    for track_id in pending_track_ids(source, everything=True, page_size=page_size):
        if read_song(track_id).enrich_status == "failed":
            ids.append(track_id)
            if limit is not None and len(ids) >= limit:
                break
    return ids


Send = Callable[[str, str, float], None]  # (track_id, task_id, requested_at)


def enqueue(
    track_ids: Iterable[str],
    *,
    client: redis.Redis,
    queue: str,
    mark_ttl_s: int,
    send: Send,
    is_finished: Callable[[str], bool],
) -> list[Ticket]:
    """Queue one task per song unless one is already queued; return a ticket per song.

    A mark left by a task that has finished (it could not release it) is replaced: the song is still
    pending, so it is queued again.
    """
    tickets = []
    for track_id in track_ids:
        task_id = uuid.uuid4().hex
        existing = queue_marks.claim(client, queue, track_id, task_id, mark_ttl_s)
        if existing is not None and not is_finished(existing):
            tickets.append(Ticket(track_id, existing, new=False))
            continue
        if existing is not None:
            queue_marks.replace(client, queue, track_id, task_id, mark_ttl_s)
        try:
            send(track_id, task_id, time.time())
        except BaseException:
            # Not queued after all (broker down, Ctrl-C): no mark may claim otherwise.
            queue_marks.release(client, queue, track_id)
            raise
        tickets.append(Ticket(track_id, task_id, new=True))
    return tickets


def collect(report: BatchReport, result: TaskResult) -> None:
    """Count one finished task into ``report``."""
    if result.successful() and isinstance(result.result, dict):
        outcome = result.result
        report.actions[outcome.get("action", "stored")] += 1
        if outcome.get("status") and outcome.get("action") in ("stored", "skipped", "stale"):
            report.statuses[outcome["status"]] += 1
    else:
        report.actions["error"] += 1
        report.errors.append(f"{type(result.result).__name__}: {result.result}")


def wait(
    tickets: list[Ticket],
    result_for: Callable[[str], TaskResult],
    *,
    timeout_s: float,
    poll_s: float = 1.0,
    on_progress: Callable[[BatchReport], None] | None = None,
    progress_every_s: float = 10.0,
    scan_ahead: int = 200,
) -> BatchReport:
    """Wait until every ticket's task finished or ``timeout_s`` passed; count the outcomes.

    Tasks finish roughly in queue order, so each poll checks the outstanding tasks in order and
    stops after ``scan_ahead`` unfinished ones: a 28k-song batch costs a few hundred reads a poll.
    """
    report = BatchReport(queued=sum(t.new for t in tickets), already_queued=sum(not t.new for t in tickets))
    outstanding = list(tickets)
    deadline = time.monotonic() + timeout_s
    next_progress = time.monotonic() + progress_every_s
    while outstanding:
        still, unfinished_seen = [], 0
        for index, ticket in enumerate(outstanding):
            if unfinished_seen >= scan_ahead:
                still.extend(outstanding[index:])
                break
            result = result_for(ticket.task_id)
            if result.ready():
                collect(report, result)
            else:
                still.append(ticket)
                unfinished_seen += 1
        outstanding = still
        now = time.monotonic()
        if on_progress and (now >= next_progress or not outstanding):
            on_progress(report)
            next_progress = now + progress_every_s
        if not outstanding or now >= deadline:
            break
        time.sleep(poll_s)
    report.unfinished = len(outstanding)
    return report
