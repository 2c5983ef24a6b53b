"""Without DATABASE_URL the service starts its own embedded Postgres (pgserver); when that
Postgres stops, requests get a clear 503 quickly, and the service recovers once it is back."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.auth.app import DB_UNAVAILABLE, create_app
from services.common.embedded import Embedded, start_postgres
from services.common.settings import load_settings
from tests.auth.helpers import PASSWORD, bearer, login, register


def restart_postgres(folder: Path) -> Embedded:
    """Start the stopped pgserver again; pg_ctl may refuse while the old postmaster is still exiting."""
    for attempt in range(3):
        try:
            return start_postgres(folder)
        except subprocess.CalledProcessError:
            if attempt == 2:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


@pytest.mark.slow
def test_embedded_postgres_stop_and_restart(monkeypatch):
    # Outside /tmp/pytest-of-<user>, whose permissions any new pytest session resets (see conftest).
    tmp_path = Path(tempfile.mkdtemp(prefix="pixelplay-auth-embedded-"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("PIXELPLAY_DATABASE_URL", raising=False)
    monkeypatch.setenv("PIXELPLAY_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PIXELPLAY_AUTH_BCRYPT_ROUNDS", "4")
    monkeypatch.setenv("PIXELPLAY_LOG_JSON", "false")
    monkeypatch.setenv("PIXELPLAY_AUTH_DB_POOL_TIMEOUT_S", "1")  # how long a request may wait for Postgres
    load_settings.cache_clear()
    try:
        with TestClient(create_app()) as client:
            embedded = client.app.state.db.embedded
            assert embedded is not None and (tmp_path / "var" / "postgres" / "PG_VERSION").exists()
            register(client, "alice")
            token = login(client, "alice")

            embedded.stop()
            down = client.get("/me", headers=bearer(token))
            assert down.status_code == 503
            assert down.json() == {"detail": DB_UNAVAILABLE}
            assert client.get("/readyz").status_code == 503
            assert client.post("/login", json={"login": "alice", "password": PASSWORD}).status_code == 503

            restarted = restart_postgres(tmp_path / "var" / "postgres")
            client.app.state.db.embedded = restarted  # so the app stops this one at shutdown
            assert restarted.url == embedded.url
            # The pool reconnects in the background (with backoff): poll, bounded, without restarting.
            deadline = time.monotonic() + 30
            while (me := client.get("/me", headers=bearer(token))).status_code == 503:
                assert time.monotonic() < deadline, "auth did not recover after Postgres came back"
                time.sleep(0.5)
            assert me.status_code == 200 and me.json()["username"] == "alice"  # data kept
            assert client.get("/readyz").status_code == 200
    finally:
        load_settings.cache_clear()
        shutil.rmtree(tmp_path, ignore_errors=True)
