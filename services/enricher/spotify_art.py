"""Album art from Spotify's public oEmbed endpoint, keyed by the catalog's Spotify track id.

``GET https://open.spotify.com/oembed?url=https://open.spotify.com/track/<id>`` needs no key and
answers ``{"title", "thumbnail_url", ...}``. It is exact (same id, same track), so no matching is
needed. The call follows the same fault policy as iTunes (``retrying_get``) under its own limit.
"""

from __future__ import annotations

from typing import Any

import httpx

from services.common.media_urls import ART_HOSTS, allowed_url, spotify_track_url
from services.enricher.rate_limit import RateLimiter
from services.enricher.retrying_get import LookupFailed, RetryingGet, policy_for
from services.enricher.settings import EnricherSettings


def thumbnail(body: Any) -> str | None:
    """The album art URL of an oEmbed answer; None when it has none we may show (bad URLs are dropped).

    Raises ``LookupFailed`` when the answer is not an oEmbed object at all.
    """
    if not isinstance(body, dict):
        raise LookupFailed("malformed Spotify oEmbed response: not a JSON object")
    return allowed_url(body.get("thumbnail_url"), ART_HOSTS)


class SpotifyArtClient:
    """oEmbed art under the shared Spotify limit. One instance per worker process."""

    def __init__(
        self,
        settings: EnricherSettings,
        limiter: RateLimiter,
        *,
        transport: httpx.BaseTransport | None = None,
    ):
        self.url = settings.spotify_oembed_url
        policy = policy_for(settings, "spotify_oembed", "Spotify oEmbed")
        self._get = RetryingGet(policy, limiter, transport=transport)

    def close(self) -> None:
        self._get.close()

    def art_url(self, track_id: str) -> str | None:
        """The track's album art URL (None: no usable art); ``LookupFailed``/``NotFound`` otherwise."""
        return thumbnail(self._get.json(self.url, {"url": spotify_track_url(track_id)}))
