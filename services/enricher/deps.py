"""What a worker process needs, built once per process on first use (after Celery's fork).

Built lazily because a Redis connection or an HTTP client made before the fork would be shared by
every pool child.
"""

from __future__ import annotations

from functools import lru_cache

import redis

from services.common.clients.search import SearchClient
from services.common.rate_limits import capacity_for
from services.common.settings import Settings, get_settings
from services.enricher.itunes import ItunesClient
from services.enricher.rate_limit import RateLimiter
from services.enricher.spotify_art import SpotifyArtClient
from services.enricher.worker import redis_url


def make_limiter(settings: Settings, client: redis.Redis | None = None) -> RateLimiter:
    """The global iTunes limiter: ``itunes_calls_per_minute`` scaled to ``itunes_rate_window_s``.

    Shared by every worker of the queue (the key is named after it).
    """
    return RateLimiter(
        client or redis.Redis.from_url(redis_url(settings)),
        f"{settings.enrich_queue}:itunes",
        capacity_for(settings.itunes_calls_per_minute, settings.itunes_rate_window_s),
        settings.itunes_rate_window_s,
        max_wait_s=settings.itunes_rate_wait_max_s,
    )


def make_spotify_limiter(settings: Settings, client: redis.Redis | None = None) -> RateLimiter:
    """The global oEmbed limiter: its own key, its own rate, shared by every worker of the queue."""
    return RateLimiter(
        client or redis.Redis.from_url(redis_url(settings)),
        f"{settings.enrich_queue}:spotify-oembed",
        capacity_for(settings.spotify_oembed_calls_per_minute, settings.spotify_oembed_rate_window_s),
        settings.spotify_oembed_rate_window_s,
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
    return SpotifyArtClient(settings, make_spotify_limiter(settings, redis_client()))


@lru_cache
def search_client() -> SearchClient:
    """Search's API with the service token: the only way results reach the index."""
    settings = get_settings()
    return SearchClient(
        settings.search_url, settings=settings, token=settings.service_token.get_secret_value()
    )
