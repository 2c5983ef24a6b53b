"""The Redis sliding-window limiter: never more than its capacity in any window, waits instead of failing."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import redis

from services.common.rate_limits import capacity_for
from services.enricher.rate_limit import RateLimiter, RateLimitTimeout


def _limiter(client: redis.Redis, capacity: int, window_s: float, **kwargs) -> RateLimiter:
    return RateLimiter(client, f"test-{uuid.uuid4().hex[:8]}", capacity, window_s, **kwargs)


def max_in_window(times: list[float], window_s: float) -> int:
    """Largest number of events inside any half-open window of ``window_s`` seconds."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_capacity_scales_the_per_minute_limit_to_the_window() -> None:
    assert capacity_for(20, 60) == 20
    assert capacity_for(120, 1) == 2
    assert capacity_for(20, 1) == 1  # never zero: the limiter would block forever


def test_grants_up_to_capacity_then_says_how_long_to_wait(redis_client: redis.Redis) -> None:
    limiter = _limiter(redis_client, 3, 5.0)
    assert [limiter.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.try_acquire()
    assert 4.0 < wait <= 5.0


def test_acquire_waits_for_the_oldest_call_to_leave_the_window(redis_client: redis.Redis) -> None:
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    limiter = _limiter(redis_client, 1, 0.5, sleep=sleep)
    limiter.acquire()
    limiter.acquire()
    assert len(sleeps) >= 1 and 0.3 < sum(sleeps) < 1.0


def test_acquire_gives_up_after_max_wait(redis_client: redis.Redis) -> None:
    limiter = _limiter(redis_client, 1, 30.0, max_wait_s=1.0)
    limiter.acquire()
    with pytest.raises(RateLimitTimeout):
        limiter.acquire()


def test_pause_blocks_until_it_expires_and_never_shortens(redis_client: redis.Redis) -> None:
    limiter = _limiter(redis_client, 100, 1.0)
    limiter.pause(3.0)
    limiter.pause(0.5)  # a shorter pause must not cut the longer one
    assert limiter.try_acquire() > 2.0


def test_concurrent_clients_never_exceed_capacity(redis_url: str) -> None:
    """Six threads with their own connections compete for 3 calls per 0.5 s for 1.6 s."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    granted: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        limiter = RateLimiter(redis.Redis.from_url(redis_url), name, 3, 0.5, max_wait_s=5)
        stop = time.monotonic() + 1.6
        while time.monotonic() < stop:
            granted_at = limiter.acquire()  # on Redis' clock: the one the limit is kept on
            with lock:
                granted.append(granted_at)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert max_in_window(granted, 0.5) <= 3
    assert len(granted) >= 6  # and it did let calls through in every window
