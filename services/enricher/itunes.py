"""The iTunes Search API: one lookup = a rate-limited, retried GET + tolerant parsing into candidates.

The fault policy (retries, Retry-After, bounded tries, a 429 pausing every worker) is
``retrying_get``'s, shared with Spotify oEmbed.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from services.enricher.rate_limit import RateLimiter
from services.enricher.retrying_get import LookupFailed, RetryingGet, policy_for
from services.enricher.schemas import Candidate
from services.enricher.settings import EnricherSettings

ARTWORK_SIZE = "600x600"
_ARTWORK_DIMENSIONS = re.compile(r"/(\d+)x(\d+)(bb|cc|sr)?(\.\w+)$")


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


class ItunesClient:
    """Search iTunes for songs under the shared rate limit. One instance per worker process."""

    def __init__(
        self,
        settings: EnricherSettings,
        limiter: RateLimiter,
        *,
        transport: httpx.BaseTransport | None = None,
    ):
        self.settings = settings
        self.limiter = limiter
        policy = policy_for(settings, "itunes", "iTunes")
        self._get = RetryingGet(policy, limiter, transport=transport)

    def close(self) -> None:
        self._get.close()

    def search(self, term: str) -> list[Candidate]:
        """Candidates for ``term``; raise ``LookupFailed`` (with the reason) when it cannot be done."""
        s = self.settings
        params = {
            "term": term,
            "media": "music",
            "entity": "song",
            "limit": s.itunes_search_limit,
            "country": s.itunes_country,
        }
        return parse_candidates(self._get.json(s.itunes_url, params))
