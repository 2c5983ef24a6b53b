"""Password change and account deletion."""

from __future__ import annotations

import psycopg

from tests.auth.helpers import PASSWORD, bearer, login, register, signed_in

NEW_PASSWORD = "copper-Meadow-19"


def test_change_password_keeps_this_session_and_revokes_others(client):
    _, laptop = signed_in(client)
    phone = login(client, "alice")
    response = client.post(
        "/password/change",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(laptop),
    )
    assert response.status_code == 200 and response.json()["revoked_sessions"] == 1
    assert client.get("/me", headers=bearer(laptop)).status_code == 200
    assert client.get("/me", headers=bearer(phone)).status_code == 401
    assert login(client, "alice", NEW_PASSWORD)


def test_change_password_errors(client):
    _, token = signed_in(client)
    wrong = client.post(
        "/password/change",
        json={"current_password": "nope-nope-nope", "new_password": NEW_PASSWORD},
        headers=bearer(token),
    )
    assert wrong.status_code == 403 and wrong.json()["detail"] == "current password is incorrect"
    weak = client.post(
        "/password/change",
        json={"current_password": PASSWORD, "new_password": "alice"},
        headers=bearer(token),
    )
    assert weak.status_code == 422
    assert (
        client.post(
            "/password/change", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        ).status_code
        == 401
    )
    assert login(client, "alice")  # nothing changed


def test_delete_account_removes_everything(client, auth_db_url):
    user, token = signed_in(client)
    client.post("/history", json={"kind": "text", "text": "rainy day"}, headers=bearer(token))
    client.post("/password/forgot", json={"login": "alice"})
    wrong = client.request("DELETE", "/me", json={"password": "not-my-password"}, headers=bearer(token))
    assert wrong.status_code == 403
    assert (
        client.request("DELETE", "/me", json={"password": PASSWORD}, headers=bearer(token)).status_code == 204
    )
    assert client.get("/me", headers=bearer(token)).status_code == 401
    assert client.post("/login", json={"login": "alice", "password": PASSWORD}).status_code == 401
    with psycopg.connect(auth_db_url) as conn:
        for table in ("users", "sessions", "search_history", "password_resets", "mail_outbox"):
            count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            assert count == 0, table
    again = register(client, "alice")  # the name is free again, as a new account
    assert again["id"] != user["id"]


def test_oversized_body_is_413(client):
    response = client.post(
        "/register", content=b"{" + b" " * 300_000 + b"}", headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_oversized_chunked_body_is_413_and_small_chunked_body_works(client):
    def chunks(total: int):
        for start in range(0, total, 10_000):
            yield b" " * min(10_000, total - start)

    big = client.post("/register", content=chunks(300_000), headers={"content-type": "application/json"})
    assert big.status_code == 413

    def small():
        yield b'{"username": "chunky", "email": "chunky@example.com",'
        yield b' "password": "violet-Harbor-42"}'

    ok = client.post("/register", content=small(), headers={"content-type": "application/json"})
    assert ok.status_code == 201, ok.text
