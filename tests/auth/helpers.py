"""Helpers shared by the auth tests (fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from fastapi.testclient import TestClient
from psycopg.rows import dict_row

from scripts.outbox import read_outbox

PASSWORD = "violet-Harbor-42"


class FakeClock:
    """An injectable clock that only moves when told to."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def register(client: TestClient, username: str, password: str = PASSWORD, email: str | None = None) -> dict:
    response = client.post(
        "/register",
        json={"username": username, "email": email or f"{username}@example.com", "password": password},
    )
    assert response.status_code == 201, response.text
    return response.json()["user"]


def login(client: TestClient, login_name: str, password: str = PASSWORD) -> str:
    response = client.post("/login", json={"login": login_name, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed_in(client: TestClient, username: str = "alice") -> tuple[dict, str]:
    """Register ``username`` and sign in: (user, token)."""
    user = register(client, username)
    return user, login(client, username)


def outbox(db_url: str, recipient: str | None = None) -> list[dict]:
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return read_outbox(conn, recipient, 50)
