"""The iTunes Search API: one lookup = rate-limited, retried GET + tolerant parsing into candidates.

Retry policy (tenacity): timeouts, connection errors, 429 and 5xx are retried with exponential
backoff and full jitter, never sooner than a Retry-After header asks, at most
``itunes_max_tries`` attempts in all; then ``LookupFailed`` carries the reason. Every attempt takes a
slot from the shared rate limiter first, so retries count against the global limit too. Anything
else (another 4xx, a body that is not the expected JSON) fails at once: asking again would not help.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import time
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from services.common.settings import Settings
from services.enricher.rate_limit import RateLimiter
from services.enricher.schemas import Candidate

log = logging.getLogger(__name__)

ARTWORK_SIZE = "600x600"
_ARTWORK_DIMENSIONS = re.compile(r"/(\d+)x(\d+)(bb|cc|sr)?(\.\w+)$")


class LookupFailed(Exception):
    """The lookup could not be completed; ``str(exc)`` is the reason stored with the song."""


class RetryableError(Exception):
    """A failure worth another attempt; ``retry_after`` is the server's requested delay, if any."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


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


def large_artwork(url: str | None) -> str | None:
    """artworkUrl100 (".../100x100bb.jpg") rewritten to the 600x600 image iTunes also serves."""
    if not url:
        return None
    return _ARTWORK_DIMENSIONS.sub(lambda m: f"/{ARTWORK_SIZE}{m.group(3) or ''}{m.group(4)}", url)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _year(release_date: Any) -> int | None:
    text = _text(release_date)
    if text and re.match(r"^\d{4}", text):
        year = int(text[:4])
        return year if 1800 <= year <= 2200 else None
    return None


def parse_candidates(body: Any) -> list[Candidate]:
    """Song candidates from a decoded iTunes answer; raise ``LookupFailed`` if it is not one.

    Results that are not songs (music videos, albums) or lack a track or artist name are skipped;
    optional fields of the wrong type become None instead of failing the whole lookup.
    """
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise LookupFailed("malformed iTunes response: no 'results' list")
    candidates = []
    for item in body["results"]:
        if not isinstance(item, dict):
            continue
        if item.get("wrapperType", "track") != "track" or item.get("kind", "song") != "song":
            continue
        title, artist = _text(item.get("trackName")), _text(item.get("artistName"))
        if title is None or artist is None:
            continue
        candidates.append(
            Candidate(
                itunes_id=_integer(item.get("trackId")),
                title=title,
                artist=artist,
                album=_text(item.get("collectionName")),
                duration_ms=_integer(item.get("trackTimeMillis")),
                preview_url=_text(item.get("previewUrl")),
                artwork_url=_text(item.get("artworkUrl100")),
                itunes_url=_text(item.get("trackViewUrl")),
                genre=_text(item.get("primaryGenreName")),
                release_year=_year(item.get("releaseDate")),
            )
        )
    return candidates


def backoff_delay(attempt: int, initial_s: float, max_s: float) -> float:
    """Exponential backoff with "equal jitter": half of initial*2^(attempt-1) (capped) fixed, half random.

    The fixed half guarantees the delay grows; the random half spreads workers that failed together.
    """
    base = min(max_s, initial_s * 2 ** (attempt - 1))
    return base / 2 + random.uniform(0, base / 2)


class ItunesClient:
    """Search iTunes for songs under the shared rate limit. One instance per worker process."""

    def __init__(
        self,
        settings: Settings,
        limiter: RateLimiter,
        *,
        transport: httpx.BaseTransport | None = None,
    ):
        self.settings = settings
        self.limiter = limiter
        self._http = httpx.Client(
            timeout=settings.itunes_timeout_s,
            transport=transport,
            headers={"User-Agent": "PixelPlay-enricher/1.0"},
        )

    def close(self) -> None:
        self._http.close()

    def search(self, term: str) -> list[Candidate]:
        """Candidates for ``term``; raise ``LookupFailed`` (with the reason) when it cannot be done."""
        s = self.settings
        retrying = Retrying(
            retry=retry_if_exception_type(RetryableError),
            stop=stop_after_attempt(max(1, s.itunes_max_tries)),
            wait=self._wait,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, term)
        except RetryableError as exc:
            raise LookupFailed(f"gave up after {s.itunes_max_tries} tries: {exc}") from exc

    def _attempt(self, term: str) -> list[Candidate]:
        s = self.settings
        self.limiter.acquire()
        params = {
            "term": term,
            "media": "music",
            "entity": "song",
            "limit": s.itunes_search_limit,
            "country": s.itunes_country,
        }
        try:
            response = self._http.get(s.itunes_url, params=params)
        except httpx.TimeoutException as exc:
            raise RetryableError(f"timeout after {s.itunes_timeout_s:g}s ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise RetryableError(f"connection error: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            if retry_after is not None:
                retry_after = min(retry_after, s.itunes_retry_after_max_s)
            if status == 429:
                # The API is throttling this client as a whole: hold every worker, not just us, for
                # as long as it asked, or one rate window when it did not say.
                self.limiter.pause(retry_after if retry_after is not None else s.itunes_rate_window_s)
            raise RetryableError(f"iTunes answered {status}", retry_after)
        if status >= 400:
            raise LookupFailed(f"iTunes answered {status}: {response.text[:200]}")
        try:
            body = response.json()
        except ValueError as exc:
            raise LookupFailed(f"malformed iTunes response: not JSON ({response.text[:80]!r})") from exc
        return parse_candidates(body)

    def _wait(self, state: RetryCallState) -> float:
        """Backoff before the next attempt: ``backoff_delay``, never shorter than the Retry-After."""
        backoff = backoff_delay(
            state.attempt_number, self.settings.itunes_backoff_initial_s, self.settings.itunes_backoff_max_s
        )
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None) or 0.0
        return max(backoff, retry_after)

    @staticmethod
    def _before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        sleep = state.next_action.sleep if state.next_action else 0.0
        log.info("iTunes attempt %d failed (%s); retrying in %.2fs", state.attempt_number, exc, sleep)
