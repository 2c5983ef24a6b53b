"""The auth service as a real uvicorn process: registration race, AuthClient, Postgres recovery."""

from __future__ import annotations

import threading
import time

import httpx
import psycopg
import pytest

from services.auth.settings import get_settings
from services.common.clients.auth import AuthClient, current_user
from services.common.contracts.auth import HistoryIn
from services.common.http import ServiceError
from tests.auth.helpers import PASSWORD
from tests.processes import running_service

SERVICE_TOKEN = "test-service-token"


@pytest.fixture(scope="module")
def auth_url(auth_db_url, tmp_path_factory):
    env = {
        "DATABASE_URL": auth_db_url,
        "PIXELPLAY_DATA_DIR": str(tmp_path_factory.mktemp("auth-var")),
        "PIXELPLAY_AUTH_BCRYPT_ROUNDS": "4",
        "PIXELPLAY_SERVICE_TOKEN": SERVICE_TOKEN,
        "PIXELPLAY_LOG_JSON": "false",
        "PIXELPLAY_LOG_LEVEL": "WARNING",
    }
    with running_service("services.auth.app:app", env, ready_path="/readyz") as url:
        yield url


@pytest.fixture
def auth_client(auth_url, auth_settings):
    with AuthClient(auth_url, settings=auth_settings, service_token=SERVICE_TOKEN) as client:
        yield client


def test_simultaneous_registrations_of_one_name_give_one_201(auth_url, auth_settings):
    attempts = 8
    barrier = threading.Barrier(attempts)
    statuses: list[int] = []

    def sign_up(i: int) -> None:
        barrier.wait(timeout=10)
        name = "racer" if i % 2 else "RACER"  # case-insensitive clash too
        body = {"username": name, "email": f"racer{i}@example.com", "password": PASSWORD}
        statuses.append(httpx.post(f"{auth_url}/register", json=body, timeout=30).status_code)

    threads = [threading.Thread(target=sign_up, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [201] + [409] * (attempts - 1)


def test_auth_client_end_to_end(auth_client):
    user = auth_client.register("dora", "dora@example.com", PASSWORD)
    with pytest.raises(ServiceError) as taken:
        auth_client.register("DORA", "other@example.com", PASSWORD)
    assert taken.value.status == 409 and "already registered" in taken.value.detail
    result = auth_client.login("dora@example.com", PASSWORD)
    assert result.user == user and auth_client.me(result.token) == user
    assert current_user(auth_client, result.token) == user
    assert current_user(auth_client, None) is None
    entry = auth_client.add_history(
        result.token, HistoryIn(kind="text", text="sunset drive", result_track_ids=["a"])
    )
    page = auth_client.history(result.token)
    assert page.total == 1 and page.items[0].id == entry.id
    assert auth_client.clear_history(result.token) == 1
    second = auth_client.login("dora", PASSWORD)
    assert auth_client.change_password(result.token, PASSWORD, "amber-Falcon-31") == 1
    assert current_user(auth_client, second.token) is None
    assert "reset code" in auth_client.forgot("dora")
    auth_client.logout(result.token)
    with pytest.raises(ServiceError) as expired:
        auth_client.me(result.token)
    assert expired.value.status == 401
    third = auth_client.login("dora", "amber-Falcon-31")
    auth_client.delete_account(third.token, "amber-Falcon-31")
    with pytest.raises(ServiceError) as gone:
        auth_client.login("dora", "amber-Falcon-31")
    assert gone.value.status == 401


def test_recovers_when_its_database_connections_are_killed(auth_url, auth_client, auth_db_url):
    auth_client.register("erin", "erin@example.com", PASSWORD)
    token = auth_client.login("erin", PASSWORD).token
    with psycopg.connect(auth_db_url, autocommit=True) as admin:
        pids = [
            row[0]
            for row in admin.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
        # A separate statement: in one WHERE clause Postgres may terminate this very backend first.
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
        assert pids  # the service's pooled connections were really cut
        # pg_terminate_backend only signals; wait (bounded) until those backends are gone.
        deadline = time.monotonic() + 10
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone()[
            0
        ]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    # Every pooled connection is checked on borrow, so the next requests just work: plain httpx
    # here, because AuthClient would retry a 503 and hide it.
    for _ in range(3):
        response = httpx.get(f"{auth_url}/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 200 and response.json()["username"] == "erin"
    assert auth_client.ready()


def test_settings_default_port_matches_contract():
    assert get_settings().auth_url.endswith(":8103")
