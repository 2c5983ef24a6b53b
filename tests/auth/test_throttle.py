"""Failed-login throttling: per account, per address, Retry-After, expiry, restarts, proxies."""

from __future__ import annotations

from services.auth.routes.accounts import TOO_MANY_FAILURES
from tests.auth.helpers import PASSWORD, bearer, register, signed_in


def fail(client, name: str, headers: dict | None = None):
    return client.post("/login", json={"login": name, "password": "wrong-password-9"}, headers=headers or {})


def test_account_locks_after_max_failures_with_retry_after(make_client, clock):
    client = make_client(login_max_failures=3, login_window_s=600)
    register(client, "alice")
    for _ in range(3):
        assert fail(client, "alice").status_code == 401
        clock.advance(seconds=10)
    locked = client.post("/login", json={"login": "alice", "password": PASSWORD})  # even the right one
    assert locked.status_code == 429
    assert locked.json() == {"detail": TOO_MANY_FAILURES}
    # The oldest failure (30 s ago) leaves the 600 s window in 570 s.
    assert int(locked.headers["retry-after"]) == 570
    clock.advance(seconds=569)
    assert client.post("/login", json={"login": "alice", "password": PASSWORD}).status_code == 429
    clock.advance(seconds=2)
    assert client.post("/login", json={"login": "alice", "password": PASSWORD}).status_code == 200


def test_the_lock_covers_username_and_email_of_one_account(make_client):
    client = make_client(login_max_failures=2)
    register(client, "alice")
    fail(client, "alice")
    fail(client, "ALICE@example.com")
    assert client.post("/login", json={"login": "alice@example.com", "password": PASSWORD}).status_code == 429


def test_unknown_accounts_lock_exactly_like_real_ones(make_client):
    client = make_client(login_max_failures=2)
    register(client, "alice")
    real = [fail(client, "alice") for _ in range(3)]
    ghost = [fail(client, "ghost") for _ in range(3)]
    assert [r.status_code for r in real] == [r.status_code for r in ghost] == [401, 401, 429]
    assert real[-1].json() == ghost[-1].json()
    assert real[-1].headers["retry-after"] == ghost[-1].headers["retry-after"]


def test_success_resets_the_account_counter(make_client):
    client = make_client(login_max_failures=3)
    register(client, "alice")
    fail(client, "alice")
    fail(client, "alice")
    assert client.post("/login", json={"login": "alice", "password": PASSWORD}).status_code == 200
    fail(client, "alice")
    fail(client, "alice")
    assert client.post("/login", json={"login": "alice", "password": PASSWORD}).status_code == 200


def test_client_address_is_limited_across_accounts(make_client):
    client = make_client(login_max_failures=100, login_ip_max_failures=4)
    register(client, "alice")
    for name in ("u1", "u2", "u3", "u4"):
        assert fail(client, name).status_code == 401
    response = client.post("/login", json={"login": "alice", "password": PASSWORD})
    assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(make_client):
    untrusted = make_client(login_max_failures=100, login_ip_max_failures=2, trusted_proxy_hops=0)
    for i in range(2):
        fail(untrusted, f"u{i}", {"X-Forwarded-For": f"10.0.0.{i}"})
    # Forging a new X-Forwarded-For does not escape the lock: the peer address is what counts.
    assert fail(untrusted, "u9", {"X-Forwarded-For": "10.0.0.99"}).status_code == 429

    trusted = make_client(login_max_failures=100, login_ip_max_failures=2, trusted_proxy_hops=1)
    for _ in range(2):
        fail(trusted, "v", {"X-Forwarded-For": "203.0.113.7"})
    assert fail(trusted, "v2", {"X-Forwarded-For": "203.0.113.7"}).status_code == 429
    # Another client behind the same proxy has its own counter; a forged left-most entry is ignored.
    assert fail(trusted, "v3", {"X-Forwarded-For": "203.0.113.7, 198.51.100.1"}).status_code == 401


def test_the_lock_survives_a_restart(make_client):
    first = make_client(login_max_failures=2)
    register(first, "alice")
    fail(first, "alice")
    fail(first, "alice")
    second = make_client(login_max_failures=2)  # a new app instance: nothing kept in memory
    assert second.post("/login", json={"login": "alice", "password": PASSWORD}).status_code == 429


def test_wrong_current_password_counts_too(make_client):
    client = make_client(login_max_failures=2)
    _, token = signed_in(client)
    body = {"current_password": "not-it-at-all", "new_password": "fresh-Lantern-77"}
    assert client.post("/password/change", json=body, headers=bearer(token)).status_code == 403
    assert client.post("/password/change", json=body, headers=bearer(token)).status_code == 403
    locked = client.post("/password/change", json=body, headers=bearer(token))
    assert locked.status_code == 429 and "retry-after" in locked.headers
