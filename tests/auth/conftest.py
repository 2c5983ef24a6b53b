"""Fixtures for the auth tests: a real Postgres database per test session, a movable clock, and
an in-process app (TestClient) built against it.

With DATABASE_URL set, a fresh database ``pixelplay_test_<random>`` is created on that server and
dropped at the end; without it, an embedded pgserver is started for the session.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from services.auth.app import create_app
from services.auth.settings import AuthSettings, get_settings
from services.common.embedded import start_postgres
from services.common.settings import load_settings
from tests.auth.helpers import FakeClock
from tests.databases import PgServer


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    base = os.environ.get("DATABASE_URL")
    if base:
        yield PgServer(base)
        return
    # Not under /tmp/pytest-of-<user>: run as root, pgserver runs Postgres as the system user
    # 'pgserver' and opens up the folder's permissions, but every pytest session that starts on the
    # machine (another engineer's, a nested one) resets that folder to mode 0700, locking Postgres
    # out of its own data directory mid-run.
    folder = Path(tempfile.mkdtemp(prefix="pixelplay-auth-pg-"))
    embedded = start_postgres(folder / "pgdata")
    try:
        yield PgServer(embedded.url)
    finally:
        embedded.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def auth_db_url(pg_server: PgServer) -> Iterator[str]:
    """One database for the whole auth test session (tables are emptied before each test)."""
    url = pg_server.create_database()
    try:
        yield url
    finally:
        pg_server.drop_database(url)


@pytest.fixture
def auth_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, auth_db_url: str
) -> Iterator[AuthSettings]:
    """Settings for an auth test: the session database, fast bcrypt, an empty schema."""
    monkeypatch.setenv("DATABASE_URL", auth_db_url)
    monkeypatch.setenv("PIXELPLAY_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PIXELPLAY_AUTH_BCRYPT_ROUNDS", "4")
    monkeypatch.setenv("PIXELPLAY_LOG_JSON", "false")
    load_settings.cache_clear()
    with psycopg.connect(auth_db_url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('users') IS NOT NULL").fetchone()[0]
        if exists:
            conn.execute("TRUNCATE users, login_failures, mail_outbox CASCADE")
    yield get_settings()
    load_settings.cache_clear()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(auth_settings: AuthSettings, clock: FakeClock) -> Iterator[AppFactory]:
    """``make_client(**setting_overrides)`` → a started TestClient on the test database."""
    opened: list[TestClient] = []

    def factory(**overrides: object) -> TestClient:
        settings = auth_settings.model_copy(update=overrides)
        client = TestClient(create_app(settings, clock))
        client.__enter__()
        opened.append(client)
        return client

    yield factory
    for client in reversed(opened):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client()
