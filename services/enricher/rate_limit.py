"""One rate limit for every worker on every machine: a sliding-window log kept in Redis.

Each granted call is a member of a sorted set scored by Redis' own clock (``TIME``), so workers whose
clocks disagree still share one timeline. A Lua script trims entries older than the window, counts
what is left and adds the new call only when there is room, atomically, so two workers can never
take the last slot together. When iTunes answers 429, ``pause()`` blocks every worker until its
Retry-After has passed.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

# KEYS[1]: sorted set of granted calls (score = ms on the Redis clock); KEYS[2]: pause marker.
# ARGV: capacity, window ms, unique member.
# Returns {granted 0|1, ms to wait before asking again, now in ms on the Redis clock}.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then
  return {0, paused, now}
end
local capacity = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - window))
if redis.call('ZCARD', KEYS[1]) < capacity then
  redis.call('ZADD', KEYS[1], string.format('%.0f', now), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window + 1000)
  return {1, 0, now}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, math.max(1, tonumber(oldest[2]) + window - now), now}
"""

# Extend the pause marker to ARGV[1] ms unless a longer pause is already in force.
_PAUSE = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return redis.call('PTTL', KEYS[1])
"""


class RateLimitTimeout(Exception):
    """No slot came free within the allowed wait; the caller should re-queue its work."""


class RateLimiter:
    """At most ``capacity`` acquisitions in any ``window_s`` seconds, across all processes."""

    def __init__(
        self,
        client: redis.Redis,
        name: str,
        capacity: int,
        window_s: float,
        *,
        max_wait_s: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if capacity < 1 or window_s <= 0:
            raise ValueError("capacity must be >= 1 and window_s > 0")
        self.redis = client
        self.capacity = capacity
        self.window_ms = max(1, round(window_s * 1000))
        self.max_wait_s = max_wait_s
        self._keys = [f"pixelplay:ratelimit:{name}:calls", f"pixelplay:ratelimit:{name}:paused"]
        self._acquire = client.register_script(_ACQUIRE)
        self._pause = client.register_script(_PAUSE)
        self._sleep = sleep

    def _ask(self) -> tuple[float, float]:
        """One atomic attempt: (seconds to wait, 0.0 when granted; Redis' clock in unix seconds)."""
        granted, wait_ms, now_ms = self._acquire(
            keys=self._keys, args=[self.capacity, self.window_ms, uuid.uuid4().hex]
        )
        return (0.0 if int(granted) else int(wait_ms) / 1000), int(now_ms) / 1000

    def try_acquire(self) -> float:
        """Take a slot if one is free: 0.0 when granted, else the seconds to wait before retrying."""
        return self._ask()[0]

    def acquire(self) -> float:
        """Block until a slot is granted; return the grant's time on Redis' clock (unix seconds).

        Raise ``RateLimitTimeout`` when no slot comes within ``max_wait_s``.
        """
        start = time.monotonic()
        # Bounded: every turn either returns, or sleeps at least 1 ms toward max_wait_s.
        while True:
            wait, granted_at = self._ask()
            if wait == 0.0:
                return granted_at
            if time.monotonic() - start + wait > self.max_wait_s:
                raise RateLimitTimeout(f"no rate-limit slot within {self.max_wait_s:.0f}s")
            # A little jitter so workers woken by the same expiry do not all ask in the same ms.
            self._sleep(wait + random.uniform(0, min(0.05, wait)))

    def pause(self, seconds: float) -> None:
        """Stop every worker from calling for ``seconds`` (the API told us to back off)."""
        ms = max(1, round(seconds * 1000))
        self._pause(keys=self._keys[1:], args=[ms])
        log.warning("rate limiter paused for %.1fs", seconds)

    def granted_times(self) -> dict[str, float]:
        """The calls granted within about the last window: unique member -> grant time (Redis' clock,
        unix seconds). Older grants are trimmed by the next ``acquire``."""
        entries = self.redis.zrange(self._keys[0], 0, -1, withscores=True)
        return {member.decode(): score / 1000 for member, score in entries}

    def reset(self) -> None:
        """Forget past calls and pauses (tests and operators only)."""
        self.redis.delete(*self._keys)
