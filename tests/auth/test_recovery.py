"""Forgotten password: same answer for everyone, single-use expiring codes, sessions revoked."""

from __future__ import annotations

import re

from scripts.outbox import main as outbox_main
from services.auth.recovery import MAX_LIVE_TOKENS
from tests.auth.helpers import PASSWORD, bearer, login, outbox, register, signed_in

NEW_PASSWORD = "copper-Meadow-19"


def reset_code(db_url: str, recipient: str) -> str:
    mails = outbox(db_url, recipient)
    assert mails, f"no mail to {recipient}"
    return re.search(r"^    (\S{43})$", mails[0]["body"], re.M).group(1)


def test_forgot_answers_the_same_whether_or_not_the_account_exists(client, auth_db_url):
    register(client, "alice")
    known = client.post("/password/forgot", json={"login": "alice"})
    by_email = client.post("/password/forgot", json={"login": "alice@example.com"})
    unknown = client.post("/password/forgot", json={"login": "nobody"})
    unknown_email = client.post("/password/forgot", json={"login": "nobody@example.com"})
    bodies = {r.text for r in (known, by_email, unknown, unknown_email)}
    assert {r.status_code for r in (known, by_email, unknown, unknown_email)} == {202}
    assert len(bodies) == 1
    assert len(outbox(auth_db_url)) == 2  # mails only for the real account
    assert {m["recipient"] for m in outbox(auth_db_url)} == {"alice@example.com"}


def test_reset_flow_changes_password_and_signs_everyone_out(client, auth_db_url):
    _, token = signed_in(client)
    client.post("/password/forgot", json={"login": "alice"})
    code = reset_code(auth_db_url, "alice@example.com")
    response = client.post("/password/reset", json={"token": code, "new_password": NEW_PASSWORD})
    assert response.status_code == 200
    assert client.get("/me", headers=bearer(token)).status_code == 401
    assert client.post("/login", json={"login": "alice", "password": PASSWORD}).status_code == 401
    assert login(client, "alice", NEW_PASSWORD)


def test_reset_code_is_single_use(client, auth_db_url):
    register(client, "alice")
    client.post("/password/forgot", json={"login": "alice"})
    code = reset_code(auth_db_url, "alice@example.com")
    assert (
        client.post("/password/reset", json={"token": code, "new_password": NEW_PASSWORD}).status_code == 200
    )
    again = client.post("/password/reset", json={"token": code, "new_password": "another-Pebble-55"})
    assert again.status_code == 400
    assert "invalid, expired or already used" in again.json()["detail"]
    assert login(client, "alice", NEW_PASSWORD)


def test_reset_code_expires(make_client, clock, auth_db_url):
    client = make_client(reset_token_minutes=30)
    register(client, "alice")
    client.post("/password/forgot", json={"login": "alice"})
    code = reset_code(auth_db_url, "alice@example.com")
    clock.advance(minutes=30, seconds=1)
    assert (
        client.post("/password/reset", json={"token": code, "new_password": NEW_PASSWORD}).status_code == 400
    )
    assert login(client, "alice")


def test_reset_applies_the_policy_and_keeps_the_code_usable(client, auth_db_url):
    register(client, "alice")
    client.post("/password/forgot", json={"login": "alice"})
    code = reset_code(auth_db_url, "alice@example.com")
    weak = client.post("/password/reset", json={"token": code, "new_password": "password123"})
    assert weak.status_code == 422 and "too common" in weak.json()["detail"]
    assert (
        client.post("/password/reset", json={"token": code, "new_password": NEW_PASSWORD}).status_code == 200
    )


def test_forgot_mails_are_capped_per_account(client, auth_db_url):
    register(client, "alice")
    for _ in range(MAX_LIVE_TOKENS + 2):
        assert client.post("/password/forgot", json={"login": "alice"}).status_code == 202
    assert len(outbox(auth_db_url, "alice@example.com")) == MAX_LIVE_TOKENS


def test_unknown_reset_code_is_400(client):
    response = client.post("/password/reset", json={"token": "x" * 43, "new_password": NEW_PASSWORD})
    assert response.status_code == 400


def test_outbox_command_prints_the_mail(client, auth_db_url, capsys):
    register(client, "alice")
    client.post("/password/forgot", json={"login": "alice"})
    assert outbox_main(["--to", "alice@example.com", "--last", "1"]) == 0
    printed = capsys.readouterr().out
    assert "Reset your PixelPlay password" in printed
    assert reset_code(auth_db_url, "alice@example.com") in printed
