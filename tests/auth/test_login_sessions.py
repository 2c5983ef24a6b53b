"""Login, bearer sessions, expiry with the injected clock, listing and revoking sessions, validate."""

from __future__ import annotations

import bcrypt
import pytest

from services.auth.routes.accounts import BAD_CREDENTIALS
from tests.auth.helpers import PASSWORD, bearer, login, register, signed_in


def test_login_by_username_or_email_any_case(client):
    user = register(client, "Alice")
    for name in ("alice", "ALICE", "alice@example.com", "ALICE@EXAMPLE.COM"):
        response = client.post("/login", json={"login": name, "password": PASSWORD})
        assert response.status_code == 200
        body = response.json()
        assert body["user"] == user
        assert len(body["token"]) >= 43  # 32 random bytes, URL-safe base64
        assert client.get("/me", headers=bearer(body["token"])).json() == user


def test_only_the_token_hash_is_stored(client, auth_db_url):
    import psycopg

    _, token = signed_in(client)
    with psycopg.connect(auth_db_url) as conn:
        stored = [row[0] for row in conn.execute("SELECT token_hash FROM sessions").fetchall()]
    assert len(stored) == 1
    assert token.encode() not in bytes(stored[0]) and len(bytes(stored[0])) == 32


def test_unknown_user_and_wrong_password_look_identical(client, monkeypatch):
    register(client, "alice")
    calls: list[bytes] = []
    real_checkpw = bcrypt.checkpw

    def counting_checkpw(password: bytes, hashed: bytes) -> bool:
        calls.append(hashed)
        return real_checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting_checkpw)
    wrong = client.post("/login", json={"login": "alice", "password": "wrong-password-1"})
    unknown = client.post("/login", json={"login": "nobody", "password": "wrong-password-1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": BAD_CREDENTIALS}
    # The unknown login also paid for one bcrypt verification (against a dummy hash) at the same cost.
    assert len(calls) == 2
    assert calls[0][:7] == calls[1][:7]  # same "$2b$04$" algorithm and cost


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}])
def test_me_without_a_live_token_is_401(client, headers):
    response = client.get("/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_logout_revokes_the_session(client):
    _, token = signed_in(client)
    assert client.post("/logout", headers=bearer(token)).status_code == 204
    assert client.get("/me", headers=bearer(token)).status_code == 401
    assert client.post("/logout", headers=bearer(token)).status_code == 401


def test_sessions_expire_after_session_days_of_inactivity(make_client, clock):
    client = make_client(session_days=30)
    _, token = signed_in(client)
    clock.advance(days=29, hours=23)
    assert client.get("/me", headers=bearer(token)).status_code == 200  # use slides the expiry
    clock.advance(days=29, hours=23)
    assert client.get("/me", headers=bearer(token)).status_code == 200
    clock.advance(days=30, seconds=1)
    assert client.get("/me", headers=bearer(token)).status_code == 401


def test_login_reports_the_expiry(make_client, clock):
    client = make_client(session_days=7)
    register(client, "alice")
    body = client.post("/login", json={"login": "alice", "password": PASSWORD}).json()
    assert body["expires_at"].startswith("2030-01-08T12:00:00")


def test_list_and_revoke_sessions(client):
    _, laptop = signed_in(client)
    phone = login(client, "alice")
    sessions = client.get("/sessions", headers=bearer(laptop)).json()["sessions"]
    assert len(sessions) == 2
    assert [s["current"] for s in sessions].count(True) == 1
    other = next(s for s in sessions if not s["current"])
    assert client.delete(f"/sessions/{other['id']}", headers=bearer(laptop)).status_code == 204
    assert client.get("/me", headers=bearer(phone)).status_code == 401
    assert client.get("/me", headers=bearer(laptop)).status_code == 200
    again = client.delete(f"/sessions/{other['id']}", headers=bearer(laptop))
    assert again.status_code == 404 and again.json()["detail"] == "no such session"


def test_cannot_revoke_someone_elses_session(client):
    _, alice = signed_in(client, "alice")
    _, bob = signed_in(client, "bob")
    bob_session = client.get("/sessions", headers=bearer(bob)).json()["sessions"][0]["id"]
    assert client.delete(f"/sessions/{bob_session}", headers=bearer(alice)).status_code == 404
    assert client.get("/me", headers=bearer(bob)).status_code == 200
    assert client.delete("/sessions/not-a-uuid", headers=bearer(alice)).status_code == 422


def test_validate_for_other_services(client, auth_settings):
    user, token = signed_in(client)
    service = {"X-Service-Token": auth_settings.service_token.get_secret_value()}
    assert client.post("/validate", json={"token": token}).status_code == 401
    assert (
        client.post("/validate", json={"token": token}, headers={"X-Service-Token": "wrong"}).status_code
        == 403
    )
    assert client.post("/validate", json={"token": token}, headers=service).json() == user
    client.post("/logout", headers=bearer(token))
    revoked = client.post("/validate", json={"token": token}, headers=service)
    assert revoked.status_code == 401


def test_long_passwords_are_not_truncated(client):
    """bcrypt ignores bytes past 72; the pre-hash makes every byte count."""
    long_password = "é" * 40 + "-tail-one"  # 80+ bytes in UTF-8
    same_prefix = "é" * 40 + "-tail-two"
    assert len(long_password.encode()) > 72
    register(client, "alice", password=long_password)
    assert client.post("/login", json={"login": "alice", "password": same_prefix}).status_code == 401
    assert client.post("/login", json={"login": "alice", "password": long_password}).status_code == 200
