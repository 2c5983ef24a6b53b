"""One rate-limited, retried JSON GET: the fault policy every outside API of the enricher shares.

Retry policy (tenacity): timeouts, connection errors, 429, 5xx and bodies that are not JSON are
retried with exponential backoff and equal jitter, never sooner than a Retry-After header asks, at
most ``max_tries`` attempts in all; then ``LookupFailed`` carries the reason. A body that is not
JSON is treated like a 5xx because it is what a failing proxy or a cut-off answer looks like. Every
attempt takes a slot from the shared rate limiter first, so retries count against the global limit
too. A 429 pauses every worker of that API. Another 4xx fails at once: asking again would not help.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from services.enricher.rate_limit import RateLimiter
from services.enricher.settings import EnricherSettings

log = logging.getLogger(__name__)


class LookupFailed(Exception):
    """The lookup could not be completed; ``str(exc)`` is the reason stored with the song."""


class NotFound(LookupFailed):
    """The API answered 404: it does not know the item (a final answer, not a fault)."""


class RetryableError(Exception):
    """A failure worth another attempt; ``retry_after`` is the server's requested delay, if any."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True)
class CallPolicy:
    """How one outside API is called: its name in reasons and logs, timeouts and retries."""

    name: str  # "iTunes", "Spotify oEmbed"
    timeout_s: float
    max_tries: int
    backoff_initial_s: float
    backoff_max_s: float
    retry_after_max_s: float
    pause_without_retry_after_s: float  # how long a 429 without Retry-After holds every worker


def policy_for(settings: EnricherSettings, api: str, name: str) -> CallPolicy:
    """The policy of ``api`` ("itunes", "spotify_oembed") from its ``<api>_*`` settings.

    Backoff and the Retry-After cap are shared: both are public APIs throttling with 429.
    """
    return CallPolicy(
        name=name,
        timeout_s=getattr(settings, f"{api}_timeout_s"),
        max_tries=getattr(settings, f"{api}_max_tries"),
        backoff_initial_s=settings.itunes_backoff_initial_s,
        backoff_max_s=settings.itunes_backoff_max_s,
        retry_after_max_s=settings.itunes_retry_after_max_s,
        pause_without_retry_after_s=getattr(settings, f"{api}_rate_window_s"),
    )


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse a Retry-After header (delta seconds or HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(attempt: int, initial_s: float, max_s: float) -> float:
    """Exponential backoff with "equal jitter": half of initial*2^(attempt-1) (capped) fixed, half random.

    The fixed half guarantees the delay grows; the random half spreads workers that failed together.
    """
    base = min(max_s, initial_s * 2 ** (attempt - 1))
    return base / 2 + random.uniform(0, base / 2)


class RetryingGet:
    """GET a JSON document under the shared rate limit with ``policy``'s retries."""

    def __init__(
        self, policy: CallPolicy, limiter: RateLimiter, *, transport: httpx.BaseTransport | None = None
    ):
        self.policy = policy
        self.limiter = limiter
        self._http = httpx.Client(
            timeout=policy.timeout_s, transport=transport, headers={"User-Agent": "PixelPlay-enricher/1.0"}
        )

    def close(self) -> None:
        self._http.close()

    def json(self, url: str, params: dict[str, Any]) -> Any:
        """The decoded body; raise ``LookupFailed`` (with the reason) when it cannot be had."""
        p = self.policy
        retrying = Retrying(
            retry=retry_if_exception_type(RetryableError),
            stop=stop_after_attempt(max(1, p.max_tries)),
            wait=self._wait,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, url, params)
        except RetryableError as exc:
            raise LookupFailed(f"gave up after {p.max_tries} tries: {exc}") from exc

    def _attempt(self, url: str, params: dict[str, Any]) -> Any:
        p = self.policy
        self.limiter.acquire()
        try:
            response = self._http.get(url, params=params)
        except httpx.TimeoutException as exc:
            raise RetryableError(f"timeout after {p.timeout_s:g}s ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise RetryableError(f"connection error: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            if retry_after is not None:
                retry_after = min(retry_after, p.retry_after_max_s)
            if status == 429:
                # The API is throttling this client as a whole: hold every worker, not just us, for
                # as long as it asked, or one rate window when it did not say.
                self.limiter.pause(retry_after if retry_after is not None else p.pause_without_retry_after_s)
            raise RetryableError(f"{p.name} answered {status}", retry_after)
        if status == 404:
            raise NotFound(f"{p.name} answered 404: {response.text[:200]}")
        if status >= 400:
            raise LookupFailed(f"{p.name} answered {status}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError as exc:
            raise RetryableError(f"malformed {p.name} response: not JSON ({response.text[:80]!r})") from exc

    def _wait(self, state: RetryCallState) -> float:
        """Backoff before the next attempt: ``backoff_delay``, never shorter than the Retry-After."""
        backoff = backoff_delay(
            state.attempt_number, self.policy.backoff_initial_s, self.policy.backoff_max_s
        )
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None) or 0.0
        return max(backoff, retry_after)

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        sleep = state.next_action.sleep if state.next_action else 0.0
        log.info(
            "%s attempt %d failed (%s); retrying in %.2fs", self.policy.name, state.attempt_number, exc, sleep
        )
