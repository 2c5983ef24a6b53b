"""Fixtures for the UI's integration and browser tests: the real encoder, search and auth
services as processes (tiny CLIP checkpoint, a small indexed slice of the catalog, a fresh
Postgres database), started once per test session and only when a test asks for them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.common.embedded import start_redis
from services.common.settings import load_settings
from services.ui.settings import UISettings, get_settings
from tests.databases import redis_test_url, stack_database
from tests.photos import photo_png
from tests.processes import indexed_search, running_service, service_env

INDEX_LIMIT = 240  # songs indexed for the UI tests: enough for several pages of 12
TOKEN = "ui-test-service-token"


@dataclass
class Stack:
    env: dict[str, str]  # environment that points a process (the UI) at the three services
    database_url: str


@pytest.fixture(scope="session")
def ui_stack(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[Stack]:
    """Encoder + search (+ indexing job) + auth as real processes; yields the env for the UI."""
    base = tmp_path_factory.mktemp("ui-stack")
    with ExitStack() as stack:
        db_url = stack_database(stack, base)
        # Search queues the songs it shows for enrichment: a real Redis (the enricher tests' database
        # on a shared server) and a queue of this session, read only by the workers tests start.
        if os.environ.get("REDIS_URL"):
            redis_url = redis_test_url(os.environ["REDIS_URL"])
        else:
            embedded_redis = start_redis(base / "redis")
            stack.callback(embedded_redis.stop)
            redis_url = embedded_redis.url
        env = service_env(base, tiny_model_dir, TOKEN, db_url) | {
            "PIXELPLAY_HTTP_RETRIES": "2",
            "REDIS_URL": redis_url,
            "PIXELPLAY_ENRICHER_QUEUE": f"ui-test-{secrets.token_hex(4)}",
        }
        # Auth does not depend on the others: it starts while encoder → search → index run.
        auth = running_service("services.auth.app:app", dict(env), ready_path="/readyz", timeout_s=180)
        with ThreadPoolExecutor(max_workers=1) as pool:
            auth_url = pool.submit(auth.__enter__)

            def stop_auth() -> None:  # registered first, so auth stops last; only if it started
                if auth_url.done() and auth_url.exception() is None:
                    auth.__exit__(None, None, None)

            stack.callback(stop_auth)
            indexed_search(stack, env, INDEX_LIMIT, timeout_s=300)
            env["PIXELPLAY_AUTH_URL"] = auth_url.result(timeout=180)
        yield Stack(env=env, database_url=db_url)


@pytest.fixture
def ui_settings(ui_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[UISettings]:
    """In-process settings pointing at the running services (for calling the callbacks)."""
    for key, value in ui_stack.env.items():
        monkeypatch.setenv(key, value)
    load_settings.cache_clear()
    yield get_settings()
    load_settings.cache_clear()


@pytest.fixture
def photo_files(tmp_path: Path) -> dict[str, Path]:
    """Two different PNG photos and one file that only pretends to be a PNG."""
    files = {}
    for kind in ("sunset", "night"):
        files[kind] = tmp_path / f"{kind}.png"
        files[kind].write_bytes(photo_png(kind))
    files["broken"] = tmp_path / "broken.png"
    files["broken"].write_bytes(b"this is not an image at all, just text pretending")
    return files
