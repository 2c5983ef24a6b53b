"""The batch job: listing, queueing once, waiting, and ``scripts/enrich_all.py`` run for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from services.common.clients.search import SearchClient
from services.common.contracts.search import PendingPage
from services.common.contracts.songs import Enrichment, Song
from services.enricher import queue_marks
from services.enricher.batch import (
    BatchReport,
    Ticket,
    enqueue,
    failed_track_ids,
    format_duration,
    pending_track_ids,
    wait,
)
from tests.enricher.fake_itunes import FakeItunes, Step
from tests.enricher.stack import TOKEN, search_url, search_with_songs, workers
from tests.processes import ROOT

BOHEMIAN, CRITIC_CITY, TAKE_ON_ME, AFRICA = (
    "1AhDOtG9vPSOmsWgNW0BEY",
    "0Jhe8RFNXhcWEWX6G6X2ke",
    "1nbMkRhfldXcmCyB83x8lK",
    "2374M0fQpWi3dLnB54qaLX",
)


# --- listing, against the real search service ------------------------------------------------
# The four songs in the index's id order, two per page: Bad Guy (popularity 25), Take On Me (15),
# then Africa (83) and Bohemian Rhapsody (29). The most popular songs are all on the second page.
BY_POPULARITY = [AFRICA, BOHEMIAN, CRITIC_CITY, TAKE_ON_ME]


@pytest.fixture(scope="module")
def listed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchClient]:
    """Search holding the four songs, all waiting for a lookup; only the listing tests use it."""
    with search_with_songs(set(BY_POPULARITY), tmp_path_factory.mktemp("listed")) as client:
        yield client


class Counted:
    """Counts the pages the batch asks search for."""

    def __init__(self, search: SearchClient):
        self.search, self.calls = search, 0

    def pending_enrichment(self, **query: Any) -> PendingPage:
        self.calls += 1
        return self.search.pending_enrichment(**query)


def test_pending_ids_follow_every_page_and_stop_at_the_limit(listed: SearchClient) -> None:
    assert pending_track_ids(listed, page_size=1) == BY_POPULARITY
    assert pending_track_ids(listed, page_size=3) == BY_POPULARITY
    assert pending_track_ids(listed, limit=3, page_size=1) == BY_POPULARITY[:3]


def test_pending_ids_come_most_popular_first_across_pages(listed: SearchClient) -> None:
    first_page = listed.pending_enrichment(limit=2).track_ids
    assert AFRICA not in first_page and BOHEMIAN not in first_page
    source = Counted(listed)
    # The limit takes the most popular songs of every page, not the first page's.
    assert pending_track_ids(source, limit=2, page_size=2) == [AFRICA, BOHEMIAN]
    assert source.calls == 2


def test_failed_ids_are_found_by_reading_every_song(listed: SearchClient) -> None:
    failed = [CRITIC_CITY, AFRICA]
    read: list[str] = []

    def read_song(track_id: str) -> Song:
        read.append(track_id)
        return listed.song(track_id)

    for track_id in failed:
        listed.update_enrichment(
            track_id,
            Enrichment.model_validate(
                {"enrich_status": "failed", "enrich_reason": "test", "enriched_at": 1.0}
            ),
        )
    try:
        assert failed_track_ids(listed, read_song, page_size=1) == [AFRICA, CRITIC_CITY]
        assert read == BY_POPULARITY  # every song is read, most popular first
        assert failed_track_ids(listed, read_song, limit=1) == [AFRICA]
    finally:  # waiting for a lookup again, as the other listing tests expect
        for track_id in failed:
            listed.update_enrichment(
                track_id, Enrichment.model_validate({"enrich_status": "pending", "enriched_at": 2.0})
            )


class Result:
    def __init__(self, value: Any = None, done: bool = True, ok: bool = True):
        self.value, self.done, self.ok = value, done, ok

    def ready(self) -> bool:
        return self.done

    def successful(self) -> bool:
        return self.done and self.ok

    @property
    def result(self) -> Any:
        return self.value


def test_enqueue_queues_each_song_once(redis_client: redis.Redis) -> None:
    queue, sent = f"test-{uuid.uuid4().hex[:8]}", []

    def send(track_id: str, task_id: str, requested_at: float) -> None:
        sent.append((track_id, task_id))

    first = enqueue(
        ["a", "b"],
        client=redis_client,
        queue=queue,
        mark_ttl_s=60,
        send=send,
        is_finished=lambda task_id: False,
    )
    again = enqueue(
        ["a", "b", "c"],
        client=redis_client,
        queue=queue,
        mark_ttl_s=60,
        send=send,
        is_finished=lambda task_id: False,
    )
    assert [t.new for t in first] == [True, True]
    assert [(t.track_id, t.new) for t in again] == [("a", False), ("b", False), ("c", True)]
    assert again[0].task_id == first[0].task_id  # the re-run waits for the task already queued
    assert [track for track, _ in sent] == ["a", "b", "c"]


def test_a_mark_whose_task_finished_does_not_block_the_song(redis_client: redis.Redis) -> None:
    queue, sent = f"test-{uuid.uuid4().hex[:8]}", []
    queue_marks.claim(redis_client, queue, "a", "old-task", 60)
    [ticket] = enqueue(
        ["a"],
        client=redis_client,
        queue=queue,
        mark_ttl_s=60,
        send=lambda t, task_id, at: sent.append(task_id),
        is_finished=lambda task_id: True,
    )
    assert ticket.new and ticket.task_id != "old-task" and sent == [ticket.task_id]
    assert queue_marks.claim(redis_client, queue, "a", "x", 60) == ticket.task_id


def test_a_song_that_could_not_be_queued_keeps_no_mark(redis_client: redis.Redis) -> None:
    queue = f"test-{uuid.uuid4().hex[:8]}"

    def broken(track_id: str, task_id: str, requested_at: float) -> None:
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        enqueue(
            ["a"], client=redis_client, queue=queue, mark_ttl_s=60, send=broken, is_finished=lambda t: False
        )
    assert queue_marks.claim(redis_client, queue, "a", "next", 60) is None


def test_wait_counts_outcomes_and_reports_unfinished() -> None:
    results = {
        "1": Result({"action": "stored", "status": "ok"}),
        "2": Result({"action": "stored", "status": "not_found"}),
        "3": Result({"action": "skipped", "status": "ok"}),
        "4": Result(RuntimeError("search answered 422"), ok=False),
        "5": Result(done=False),
    }
    tickets = [Ticket(f"t{k}", k, new=k != "3") for k in results]
    progress: list[BatchReport] = []
    report = wait(
        tickets,
        results.__getitem__,
        timeout_s=0.2,
        poll_s=0.05,
        on_progress=progress.append,
        progress_every_s=0,
    )
    assert (report.queued, report.already_queued, report.unfinished) == (4, 1, 1)
    assert report.statuses == {"ok": 2, "not_found": 1}
    assert report.actions["error"] == 1 and "422" in report.errors[0]
    assert progress
    assert progress[-1].progress_line(5) == "4/5 done (80%): ok 2, not_found 1, failed 0, errors 1"
    assert progress[-1].progress_line(5, songs_per_second=1 / 3) == (
        "4/5 done (80%): ok 2, not_found 1, failed 0, errors 1, ETA 3s"
    )
    assert format_duration(3725) == "1h02m05s" and format_duration(84) == "1m24s"


# --- scripts/enrich_all.py against the real search service and worker -------------------------
@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchClient]:
    with search_with_songs(
        {BOHEMIAN, CRITIC_CITY, TAKE_ON_ME, AFRICA}, tmp_path_factory.mktemp("var")
    ) as client:
        yield client


def enrich_all(env: dict[str, str], *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scripts.enrich_all", "--progress-every", "1", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_enrich_all_is_safe_to_interrupt_and_rerun(
    enricher_env: dict[str, str], search: SearchClient, fake_itunes: FakeItunes, tmp_path: Path
) -> None:
    env = {
        **enricher_env,
        "PIXELPLAY_SEARCH_URL": search_url(search),
        "PIXELPLAY_SERVICE_TOKEN": TOKEN,
    }
    fake_itunes.plan("bohemian", [Step(fixture="bohemian_rhapsody")])
    fake_itunes.plan("take on me", [Step(status=500)])  # fails until step 5
    fake_itunes.plan("critic city", [Step(fixture="bad_guy_covers")])

    # 1. No worker yet: queue three songs, then Ctrl-C while waiting.
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.enrich_all", "--limit", "3"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = []
    for line in proc.stdout:  # bounded: the script prints the waiting line, then blocks until SIGINT
        lines.append(line)
        if line.startswith("waiting for the workers"):
            proc.send_signal(signal.SIGINT)
            break
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1, "".join(lines) + out
    assert "3 songs to enrich, most popular first: 3 queued now, 0 already queued; ETA " in lines[0]
    assert "interrupted" in out

    # 2. Re-run: the same three are waited for, not queued again (it gives up after 1 s: no worker).
    second = enrich_all(env, "--limit", "3", "--timeout", "1")
    assert second.returncode == 1, second.stdout + second.stderr
    assert "3 songs to enrich, most popular first: 0 queued now, 3 already queued" in second.stdout
    assert "still running 3" in second.stdout

    # 3. With a worker: the fourth song is queued, all four finish, the summary adds up.
    with workers(1, env, tmp_path):
        third = enrich_all(env)
        assert third.returncode == 0, third.stdout + third.stderr
        assert "4 songs to enrich, most popular first: 1 queued now, 3 already queued" in third.stdout
        assert "4/4 done (100%): ok 1, not_found 2, failed 1" in third.stdout
        assert "index: pending 0, ok 1, not_found 2, failed 1" in third.stdout
        assert len(fake_itunes.calls) == 3 + 3  # one lookup per song despite three runs; 3 tries for the 500s

        # 4. Nothing pending: a re-run queues nothing and calls nobody.
        fourth = enrich_all(env)
        assert fourth.returncode == 0 and "nothing to enrich" in fourth.stdout
        assert len(fake_itunes.calls) == 6

        # 5. iTunes is fine again: --retry-failed picks up the failed song only.
        fake_itunes.plan("take on me", [Step(fixture="take_on_me")])
        fifth = enrich_all(env, "--retry-failed")
        assert fifth.returncode == 0, fifth.stdout + fifth.stderr
        assert "1 songs to enrich, most popular first: 1 queued now" in fifth.stdout
        assert "index: pending 0, ok 2, not_found 2, failed 0" in fifth.stdout
    assert len(fake_itunes.calls) == 7
    assert search.song(BOHEMIAN).enrich_status == "ok" and search.song(TAKE_ON_ME).enrich_status == "ok"


def test_enrich_all_reports_an_unreachable_search_service(enricher_env: dict[str, str]) -> None:
    from services.common.embedded import free_port

    result = enrich_all(
        {
            **enricher_env,
            "PIXELPLAY_SEARCH_URL": f"http://127.0.0.1:{free_port()}",
            "PIXELPLAY_HTTP_RETRIES": "1",
        }
    )
    assert result.returncode == 2 and "cannot start: search" in result.stderr
