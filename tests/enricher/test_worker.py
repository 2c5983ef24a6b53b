"""Real Celery worker processes on a real Redis, writing through the real search service.

The fake iTunes server answers each song's search term as planned; the tests read the results back
from the search service, the way the UI will see them.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from services.common.clients.search import SearchClient
from services.enricher.settings import get_settings
from services.enricher.worker import make_celery
from tests.enricher.fake_itunes import FIXTURES, FakeItunes, Step
from tests.enricher.stack import (
    TOKEN,
    index_songs,
    search_service,
    search_url,
    search_with_songs,
    wait_for,
    workers,
)
from tests.enricher.test_rate_limit import max_in_window

pytestmark = pytest.mark.slow

BOHEMIAN = "1AhDOtG9vPSOmsWgNW0BEY"  # Bohemian Rhapsody - Remastered 2011 / Queen
CRITIC_CITY_BAD_GUY = "0Jhe8RFNXhcWEWX6G6X2ke"  # Bad Guy / Critic City: iTunes only has others'
TAKE_ON_ME = "1nbMkRhfldXcmCyB83x8lK"
BLINDING_LIGHTS = "0sf12qNH5qcw8qpgymFOqD"
SHAPE_OF_YOU = "0FE9t6xYkqWXU2ahLh6D8X"
AFRICA = "2374M0fQpWi3dLnB54qaLX"
TEEN_SPIRIT = {"pool child": "1f3yAtsJtY87CTmM8RLnxf", "whole worker": "4hy4fb5D1KL50b3sng9cjw"}
RATE_SONGS = [
    "6hmhG1b4LEyNuashVvuIAo",
    "467Ka8djftrhQIZTkYJar0",
    "1nihX7AXe5qdt3OmDcstTb",
    "3fuC2ffmtIWdmi86asWZj5",
    "386RUes7n1uM1yfzgeUuwp",
    "7oGZAicScQt96OAW4AruYy",
    "7fEfIU4ZVvB5Wb6xg2zcvx",
    "3XDeeP9wBZzGhIPZmLfEEx",
]
ALL_SONGS = {
    BOHEMIAN,
    CRITIC_CITY_BAD_GUY,
    TAKE_ON_ME,
    BLINDING_LIGHTS,
    SHAPE_OF_YOU,
    AFRICA,
    *TEEN_SPIRIT.values(),
    *RATE_SONGS,
}


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchClient]:
    with search_with_songs(ALL_SONGS, tmp_path_factory.mktemp("search-var")) as client:
        yield client


@pytest.fixture
def worker_env(enricher_env: dict[str, str], search: SearchClient) -> dict[str, str]:
    return {
        **enricher_env,
        "PIXELPLAY_SEARCH_URL": search_url(search),
        "PIXELPLAY_SERVICE_TOKEN": TOKEN,
    }


@pytest.fixture
def celery_app(worker_env: dict[str, str]) -> Celery:
    """A client-side app built from this test's settings (same broker, backend and queue as the workers)."""
    return make_celery(get_settings())


def send(app: Celery, track_id: str, requested_at: float | None = None):
    return app.send_task(
        "enricher.enrich_song", args=[track_id], kwargs={"requested_at": requested_at or time.time()}
    )


def test_worker_enriches_through_search(
    worker_env: dict[str, str],
    celery_app: Celery,
    search: SearchClient,
    fake_itunes: FakeItunes,
    tmp_path: Path,
) -> None:
    fake_itunes.plan("bohemian", [Step(fixture="bohemian_rhapsody")])
    fake_itunes.plan("critic city", [Step(fixture="bad_guy_covers")])
    fake_itunes.plan(
        "take on me", [Step(status=429, retry_after="1"), Step(status=500), Step(fixture="take_on_me")]
    )
    fake_itunes.plan("blinding", [Step(status=500)])
    fake_itunes.plan("shape of you", [Step(body=b"<html>Bad Gateway</html>")])
    songs = [BOHEMIAN, CRITIC_CITY_BAD_GUY, TAKE_ON_ME, BLINDING_LIGHTS, SHAPE_OF_YOU, AFRICA]
    requested_at = time.time()
    with workers(1, worker_env, tmp_path):
        results = {tid: send(celery_app, tid, requested_at) for tid in songs}
        outcomes = {tid: r.get(timeout=60) for tid, r in results.items()}
        after_first = search.song(BOHEMIAN)
        # The same request delivered again (acks_late redelivery, a duplicate): no new lookup, same payload.
        again = send(celery_app, BOHEMIAN, requested_at).get(timeout=60)
        unknown = send(celery_app, "0000000000000000000000").get(timeout=60)
    assert unknown["action"] == "unknown_track" and "0000000000000000000000" in unknown["reason"]
    assert again["action"] == "skipped" and search.song(BOHEMIAN) == after_first
    assert len(fake_itunes.calls_for("bohemian")) == 1

    assert {tid: o["status"] for tid, o in outcomes.items()} == {
        BOHEMIAN: "ok",
        CRITIC_CITY_BAD_GUY: "not_found",
        TAKE_ON_ME: "ok",
        BLINDING_LIGHTS: "failed",
        SHAPE_OF_YOU: "failed",
        AFRICA: "not_found",
    }
    # What the UI will read back from search:
    queen = search.song(BOHEMIAN)
    studio = FIXTURES["bohemian_rhapsody"]["results"][2]  # iTunes' third hit, not its first
    assert queen.enrich_status == "ok" and queen.itunes_id == studio["trackId"]
    assert queen.preview_url == studio["previewUrl"] and queen.itunes_url == studio["trackViewUrl"]
    assert queen.art_url == studio["artworkUrl100"].replace("100x100bb", "600x600bb")
    assert queen.itunes_genre == "Rock" and queen.itunes_year == 1975 and queen.match_score == 1.0
    assert queen.enriched_at is not None

    cover = search.song(CRITIC_CITY_BAD_GUY)
    assert cover.preview_url is None and cover.match_score < get_settings().match_threshold

    assert search.song(TAKE_ON_ME).itunes_id == 1035048414
    assert [c.status for c in fake_itunes.calls_for("take on me")] == [429, 500, 200]

    weeknd = search.song(BLINDING_LIGHTS)
    assert weeknd.enrich_reason == "gave up after 3 tries: iTunes answered 500"
    assert len(fake_itunes.calls_for("blinding")) == 3  # itunes_max_tries, then it stopped
    assert "malformed" in search.song(SHAPE_OF_YOU).enrich_reason
    assert search.song(AFRICA).enrich_reason == "no song results from iTunes"

    stats = search.enrichment_stats()
    assert stats.ok >= 2 and stats.not_found >= 2 and stats.failed >= 2


def test_rate_limit_holds_across_two_workers(
    worker_env: dict[str, str], celery_app: Celery, fake_itunes: FakeItunes, tmp_path: Path
) -> None:
    # 60 calls/minute scaled to a 2 s window: at most 2 iTunes calls in any 2 s, however many workers
    # (unlimited, two workers make 4-6 calls in 2 s here).
    env = {
        **worker_env,
        "PIXELPLAY_ENRICHER_ITUNES_CALLS_PER_MINUTE": "60",
        "PIXELPLAY_ENRICHER_ITUNES_RATE_WINDOW_S": "2",
    }
    with workers(2, env, tmp_path):
        results = [send(celery_app, tid) for tid in RATE_SONGS]
        outcomes = [r.get(timeout=90) for r in results]
    assert [o["status"] for o in outcomes] == ["not_found"] * len(RATE_SONGS)
    assert {r.worker.split("@")[0] for r in results} == {"w0", "w1"}  # both workers took tasks
    arrivals = [c.at for c in fake_itunes.calls]
    assert len(arrivals) == len(RATE_SONGS)
    # Slots are granted on Redis' clock, then the request travels to the server through a loaded
    # machine; 0.25 s of slack absorbs that hop (unlimited, 6 calls land inside 1.75 s).
    assert max_in_window(arrivals, 2.0 - 0.25) <= 2


@pytest.mark.parametrize("victim", ["pool child", "whole worker"])
def test_task_survives_its_worker_being_killed(
    victim: str, worker_env: dict[str, str], search: SearchClient, fake_itunes: FakeItunes, tmp_path: Path
) -> None:
    track_id = TEEN_SPIRIT[victim]
    env = {
        **worker_env,
        "PIXELPLAY_ENRICHER_ITUNES_TIMEOUT_S": "20",
        # A task held by a vanished worker is redelivered after 3 s (production: 1 h).
        "PIXELPLAY_ENRICHER_VISIBILITY_TIMEOUT_S": "3",
        "PIXELPLAY_ENRICHER_RESTORE_INTERVAL_S": "0.5",
    }
    # The first lookup hangs long enough to be killed in the middle of it.
    fake_itunes.plan(
        "smells like teen spirit",
        [Step(fixture="smells_like_teen_spirit", delay_s=15), Step(fixture="smells_like_teen_spirit")],
    )
    app = make_celery(get_settings().model_copy(update={"visibility_timeout_s": 3.0}))
    with workers(1, env, tmp_path) as [first]:
        result = send(app, track_id)
        wait_for(lambda: fake_itunes.calls_for("teen spirit"), 60, "the first lookup to start")
        if victim == "pool child":
            [child] = first.pool_children()
            os.kill(child, signal.SIGKILL)  # the main process sees the loss and requeues the task
            outcome = result.get(timeout=60)
        else:
            first.kill()
            with workers(1, env, tmp_path / "second"):
                outcome = result.get(timeout=60)
                time.sleep(4)  # longer than the visibility timeout: a second redelivery would show now
    assert outcome["status"] == "ok" and outcome["action"] == "stored"
    assert search.song(track_id).itunes_id == 1440783617
    calls = fake_itunes.calls_for("teen spirit")
    assert len(calls) == 2  # the interrupted lookup and the one that completed, nothing more


def test_task_waits_out_a_search_outage(
    worker_env: dict[str, str], celery_app: Celery, fake_itunes: FakeItunes, tmp_path: Path
) -> None:
    # A search service without an index answers 503 for every song, as during a first start.
    fake_itunes.plan("bohemian", [Step(fixture="bohemian_rhapsody")])
    with search_service(tmp_path / "var-outage") as down:
        env = {
            **worker_env,
            "PIXELPLAY_SEARCH_URL": search_url(down),
            "PIXELPLAY_ENRICHER_REQUEUE_INITIAL_S": "0.5",
        }
        with workers(1, env, tmp_path / "logs"):
            result = send(celery_app, BOHEMIAN)
            log = tmp_path / "logs" / "worker-0.log"
            wait_for(lambda: "re-queued" in log.read_text(), 60, "the task to be re-queued")
            assert not result.ready() and fake_itunes.calls == []  # nothing recorded, nothing looked up
            index_songs(down, {BOHEMIAN})  # search is back
            outcome = result.get(timeout=60)
        assert outcome["status"] == "ok" and down.song(BOHEMIAN).enrich_status == "ok"
    assert len(fake_itunes.calls_for("bohemian")) == 1
