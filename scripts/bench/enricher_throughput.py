"""Enricher benchmark: rate-limiter cost and accuracy, and worker throughput with no limit.

    REDIS_URL=redis://127.0.0.1:6379/0 python -m scripts.bench.enricher_throughput [--songs 40]

Uses the same real pieces as the tests (Redis, the fake iTunes server, the search service, Celery
worker processes). Prints raw numbers and ratios; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import celery
import redis

from services.common.catalog import read_rows
from services.common.embedded import start_redis
from services.enricher.rate_limit import RateLimiter
from services.enricher.settings import EnricherSettings
from services.enricher.worker import make_celery
from tests.databases import redis_test_url
from tests.enricher.fake_itunes import FakeItunesServer
from tests.enricher.stack import TOKEN, search_url, search_with_songs, workers
from tests.enricher.test_rate_limit import max_in_window


def limiter_latency(url: str, rounds: int = 2000) -> list[float]:
    limiter = RateLimiter(redis.Redis.from_url(url), f"bench-{uuid.uuid4().hex[:6]}", 10**9, 60.0)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        limiter.try_acquire()
        times.append((time.perf_counter() - start) * 1000)
    limiter.reset()
    return times


def _hammer(url: str, name: str, seconds: float, out: multiprocessing.Queue) -> None:
    limiter = RateLimiter(redis.Redis.from_url(url), name, 10, 1.0, max_wait_s=seconds + 5)
    granted, stop = [], time.time() + seconds
    while time.time() < stop:
        granted.append(limiter.acquire())  # the grant's time on Redis' clock
    out.put(granted)


def limiter_accuracy(url: str, processes: int = 4, seconds: float = 6.0) -> tuple[int, float, int]:
    """(calls, calls/s, worst 1 s window on Redis' clock) for 10 calls/s shared by greedy clients."""
    name, out = f"bench-{uuid.uuid4().hex[:6]}", multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_hammer, args=(url, name, seconds, out)) for _ in range(processes)
    ]
    for p in procs:
        p.start()
    granted = sorted(t for _ in procs for t in out.get(timeout=seconds + 30))
    for p in procs:
        p.join(timeout=10)
    span = granted[-1] - granted[0]
    return len(granted), (len(granted) - 1) / span, max_in_window(granted, 1.0)


def throughput(url: str, songs: list[str], worker_count: int, tmp: Path) -> float:
    """Songs per second through ``worker_count`` workers with the limit out of the way."""
    with FakeItunesServer() as fake, search_with_songs(set(songs), tmp / "var") as search:
        env = {
            "REDIS_URL": url,
            "PIXELPLAY_ENRICHER_ITUNES_URL": fake.url,
            "PIXELPLAY_SERVICE_TOKEN": TOKEN,
            "PIXELPLAY_SEARCH_URL": search_url(search),
            "PIXELPLAY_ENRICHER_QUEUE": f"bench-{uuid.uuid4().hex[:6]}",
            "PIXELPLAY_ENRICHER_ITUNES_CALLS_PER_MINUTE": "1000000",
            "PIXELPLAY_LOG_LEVEL": "WARNING",
        }
        app = make_celery(EnricherSettings(redis_url=url, queue=env["PIXELPLAY_ENRICHER_QUEUE"]))
        with workers(worker_count, env, tmp / "logs"):
            # Warm-up: one task per worker so start-up time is not counted.
            for r in [app.send_task("enricher.enrich_song", args=[songs[i]]) for i in range(worker_count)]:
                r.get(timeout=120)
            start = time.perf_counter()
            results = [
                app.send_task("enricher.enrich_song", args=[tid], kwargs={"requested_at": time.time()})
                for tid in songs
            ]
            for r in results:
                r.get(timeout=300)
            return len(songs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--songs", type=int, default=40)
    args = parser.parse_args()
    embedded = None
    if os.environ.get("REDIS_URL"):
        url = redis_test_url(os.environ["REDIS_URL"])
    else:
        embedded = start_redis(Path(tempfile.mkdtemp()))
        url = embedded.url
    print(
        f"# enricher benchmark {time.strftime('%Y-%m-%d')}: python {platform.python_version()}, "
        f"celery {celery.__version__}, redis-py {redis.__version__}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    lat = sorted(limiter_latency(url))
    print(
        f"limiter try_acquire (Lua, one round trip): p50 {statistics.median(lat):.3f} ms, "
        f"p99 {lat[int(len(lat) * 0.99)]:.3f} ms"
    )
    calls, rate, worst = limiter_accuracy(url)
    print(
        f"limiter accuracy, 4 greedy processes, limit 10/s for 6 s: {calls} calls, {rate:.2f}/s "
        f"(ratio to limit {rate / 10:.3f}); most calls in any 1 s window: {worst} (limit 10)"
    )
    songs = [row["track_id"] for row in read_rows(Path("data/catalog/spotify_songs.csv.gz"))]
    songs = list(dict.fromkeys(songs))[: args.songs + 2]
    with tempfile.TemporaryDirectory() as tmp:
        one = throughput(url, songs, 1, Path(tmp) / "one")
    with tempfile.TemporaryDirectory() as tmp:
        two = throughput(url, songs, 2, Path(tmp) / "two")
    print(
        f"pipeline with no limit ({len(songs)} songs, fake iTunes, real search): 1 worker {one:.1f} songs/s, "
        f"2 workers {two:.1f} songs/s (ratio {two / one:.2f})"
    )
    print(
        f"at the default 20 calls/min one worker is busy {20 / 60 / one:.1%} of the time; the full "
        f"catalog (28,352 songs) takes {28352 / 20 / 60:.1f} h whatever the number of workers"
    )
    if embedded:
        embedded.stop()


if __name__ == "__main__":
    main()
