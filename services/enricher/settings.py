"""The enricher's settings: ``PIXELPLAY_ENRICHER_<FIELD>`` (docs/configuration.md)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.common.settings import CommonSettings, load_settings


class EnricherSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="PIXELPLAY_ENRICHER_")

    # Celery queue; also namespaces the enricher's Redis keys (rate limit, queue marks), so every
    # worker of one queue shares one iTunes limit. Search reads it too, to queue the songs on screen.
    queue: str = "enrich"
    match_threshold: float = 0.75
    # A task whose whole worker died is redelivered after this long (Redis broker visibility timeout);
    # a killed pool child is redelivered at once (reject_on_worker_lost).
    visibility_timeout_s: float = 3600.0
    restore_interval_s: float = 10.0  # how often workers sweep for such unacknowledged tasks
    mark_ttl_s: int = 3 * 24 * 3600  # a queued-song mark outlives the longest full batch
    # While search is down (or no rate-limit slot came), a task is re-queued after this delay,
    # doubling each time up to 10 minutes, at most requeue_max_tries times.
    requeue_initial_s: float = 15.0
    requeue_max_tries: int = 12

    itunes_url: str = "https://itunes.apple.com/search"
    itunes_country: str = "US"
    # Shared by every worker (the limit lives in Redis); search reads it too, for its metrics.
    itunes_calls_per_minute: int = 20
    itunes_timeout_s: float = 10.0
    itunes_max_tries: int = 5  # HTTP attempts per lookup (timeouts, connection errors, 429, 5xx)
    itunes_search_limit: int = 10  # candidates asked for per lookup; the matcher picks among them
    # The global limit is itunes_calls_per_minute scaled to a sliding window of this many seconds:
    # 6 s -> at most 2 calls in any 6 s, so never more than 20 in any minute and no burst of 20.
    # Pick a window that divides 60 so the per-minute bound holds exactly.
    itunes_rate_window_s: float = 6.0
    itunes_rate_wait_max_s: float = 600.0  # a worker waits this long for a slot, then re-queues the task
    itunes_backoff_initial_s: float = 1.0  # exponential backoff with jitter between attempts
    itunes_backoff_max_s: float = 60.0
    itunes_retry_after_max_s: float = 300.0  # cap on an honoured Retry-After header

    spotify_oembed_url: str = "https://open.spotify.com/oembed"
    # Spotify publishes no figure for oEmbed; 180/min in 2 s windows (6 per 2 s) fills a page of 12
    # cards in about 4 s and stays a polite, steady rate. Shared by every worker, like iTunes'.
    spotify_oembed_calls_per_minute: int = 180
    spotify_oembed_rate_window_s: float = 2.0
    spotify_oembed_timeout_s: float = 10.0
    spotify_oembed_max_tries: int = 5


def get_settings() -> EnricherSettings:
    return load_settings(EnricherSettings)
