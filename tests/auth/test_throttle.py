"""Failed-login throttling: the (account, address) lock, the address slow-down, Retry-After,
expiry, restarts, forwarded addresses. test_security_*.py attack the running service."""

from __future__ import annotations

import time

from services.auth.guard import TOO_MANY_FAILURES
from tests.auth.helpers import PASSWORD, bearer, register, signed_in


def fail(client, name: str, headers: dict | None = None):
    return client.post("/login", json={"login": name, "password": "wrong-password-9"}, headers=headers or {})


def signs_in(client, name: str = "alice") -> int:
    """The status of a sign-in with the right password."""
    return client.post("/login", json={"login": name, "password": PASSWORD}).status_code


def alice_with(make_client, **settings):
    """An auth app with these ``settings`` and alice's account."""
    client = make_client(**settings)
    register(client, "alice")
    return client


def test_account_locks_after_max_failures_with_retry_after(make_client, clock):
    client = alice_with(make_client, login_max_failures=3, login_window_s=600)
    for _ in range(3):
        assert fail(client, "alice").status_code == 401
        clock.advance(seconds=10)
    locked = client.post("/login", json={"login": "alice", "password": PASSWORD})  # even the right one
    assert locked.status_code == 429
    assert locked.json() == {"detail": TOO_MANY_FAILURES}
    # The oldest failure (30 s ago) leaves the 600 s window in 570 s.
    assert int(locked.headers["retry-after"]) == 570
    clock.advance(seconds=569)
    assert signs_in(client) == 429
    clock.advance(seconds=2)
    assert signs_in(client) == 200


def test_the_lock_covers_username_and_email_of_one_account(make_client):
    client = alice_with(make_client, login_max_failures=2)
    fail(client, "alice")
    fail(client, "ALICE@example.com")
    assert signs_in(client, "alice@example.com") == 429


def test_unknown_accounts_lock_exactly_like_real_ones(make_client):
    client = alice_with(make_client, login_max_failures=2)
    real = [fail(client, "alice") for _ in range(3)]
    ghost = [fail(client, "ghost") for _ in range(3)]
    assert [r.status_code for r in real] == [r.status_code for r in ghost] == [401, 401, 429]
    assert real[-1].json() == ghost[-1].json()
    assert real[-1].headers["retry-after"] == ghost[-1].headers["retry-after"]


def test_success_resets_the_account_counter(make_client):
    client = alice_with(make_client, login_max_failures=3)
    for _ in range(2):  # each time two failures, then the right password starts the count again
        fail(client, "alice")
        fail(client, "alice")
        assert signs_in(client) == 200


def test_an_address_past_its_limit_is_slowed_but_a_right_password_gets_in(make_client):
    client = alice_with(make_client, login_max_failures=100, login_ip_max_failures=4, login_delay_max_s=0.3)
    for name in ("u1", "u2", "u3", "u4"):
        assert fail(client, name).status_code == 401
    started = time.monotonic()
    assert signs_in(client) == 200
    assert time.monotonic() - started >= 0.25  # slowed down, not refused
    assert fail(client, "u5").status_code == 401  # wrong ones are slowed too, never told apart


def test_forwarded_for_counts_only_with_the_service_token(make_client, auth_settings):
    client = alice_with(make_client, login_max_failures=2)
    service = {"X-Service-Token": auth_settings.service_token.get_secret_value()}
    for i in range(2):  # a forged header without the token: the peer address is what counts
        fail(client, "alice", {"X-Forwarded-For": f"10.0.0.{i}"})
    assert fail(client, "alice", {"X-Forwarded-For": "10.0.0.99"}).status_code == 429
    # The UI (service token) speaks for its browser: another browser has its own lock.
    ok = client.post(
        "/login",
        json={"login": "alice", "password": PASSWORD},
        headers={**service, "X-Forwarded-For": "203.0.113.7"},
    )
    assert ok.status_code == 200
    sessions = client.get("/sessions", headers=bearer(ok.json()["token"])).json()["sessions"]
    assert sessions[0]["client_ip"] == "203.0.113.7"


def test_the_lock_survives_a_restart(make_client):
    first = alice_with(make_client, login_max_failures=2)
    fail(first, "alice")
    fail(first, "alice")
    second = make_client(login_max_failures=2)  # a new app instance: nothing kept in memory
    assert signs_in(second) == 429


def test_wrong_current_password_counts_too(make_client):
    client = make_client(login_max_failures=2)
    _, token = signed_in(client)
    body = {"current_password": "not-it-at-all", "new_password": "fresh-Lantern-77"}
    assert client.post("/password/change", json=body, headers=bearer(token)).status_code == 403
    assert client.post("/password/change", json=body, headers=bearer(token)).status_code == 403
    locked = client.post("/password/change", json=body, headers=bearer(token))
    assert locked.status_code == 429 and "retry-after" in locked.headers
