"""What a worker process needs, built once per process on first use (after Celery's fork).

Built lazily because a Redis connection or an HTTP client made before the fork would be shared by
every pool child.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import redis

from services.common.clients.search import SearchClient
from services.common.rate_limits import capacity_for
from services.enricher.itunes import ItunesClient
from services.enricher.rate_limit import RateLimiter
from services.enricher.settings import EnricherSettings, get_settings
from services.enricher.spotify_art import SpotifyArtClient
from services.enricher.worker import redis_url

Api = Literal["itunes", "spotify_oembed"]


def make_limiter(
    settings: EnricherSettings, client: redis.Redis | None = None, api: Api = "itunes"
) -> RateLimiter:
    """The global limiter of one API: ``<api>_calls_per_minute`` scaled to ``<api>_rate_window_s``.

    Shared by every worker of the queue (the key is named after the queue and the API).
    """
    window_s = getattr(settings, f"{api}_rate_window_s")
    return RateLimiter(
        client or redis.Redis.from_url(redis_url(settings)),
        f"{settings.queue}:{api.replace('_', '-')}",
        capacity_for(getattr(settings, f"{api}_calls_per_minute"), window_s),
        window_s,
        max_wait_s=settings.itunes_rate_wait_max_s,
    )


@lru_cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(redis_url(get_settings()))


@lru_cache
def itunes_client() -> ItunesClient:
    settings = get_settings()
    return ItunesClient(settings, make_limiter(settings, redis_client()))


@lru_cache
def spotify_art_client() -> SpotifyArtClient:
    settings = get_settings()
    return SpotifyArtClient(settings, make_limiter(settings, redis_client(), "spotify_oembed"))


@lru_cache
def search_client() -> SearchClient:
    """Search's API with the service token: the only way results reach the index."""
    settings = get_settings()
    return SearchClient(
        settings.search_url, settings=settings, token=settings.service_token.get_secret_value()
    )
