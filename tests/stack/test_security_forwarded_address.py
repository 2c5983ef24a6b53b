"""Trusted proxies: the UI believes X-Forwarded-For only from its configured proxies, and auth
believes the address the UI forwards only with the service token."""

from __future__ import annotations

import secrets

import httpx

from tests.fixtures.security_stack import PASSWORD, SERVICE_TOKEN, client_from, register


def session_addresses(auth_url: str, token: str) -> list[str]:
    r = httpx.get(f"{auth_url}/sessions", headers={"Authorization": f"Bearer {token}"})
    return [s["client_ip"] for s in r.json()["sessions"]]


def test_auth_believes_a_forwarded_address_only_with_the_service_token(sec_stack):
    name = "f" + secrets.token_hex(4)
    register(sec_stack, sec_stack.auth, name)
    body = {"login": name, "password": PASSWORD}
    with client_from("127.0.0.8", sec_stack.auth) as anyone:
        # Without the token, a forged header changes nothing: the lock follows the TCP peer.
        for i in range(6):
            forged = anyone.post(
                "/login",
                json={**body, "password": "wrong-Pass-1"},
                headers={"X-Forwarded-For": f"10.9.9.{i}"},
            )
        assert forged.status_code == 429
        forged_ok = anyone.post("/login", json=body, headers={"X-Forwarded-For": "10.9.9.200"})
        assert forged_ok.status_code == 429
        # Wrong token: the same.
        bad = anyone.post(
            "/login", json=body, headers={"X-Forwarded-For": "10.9.9.201", "X-Service-Token": "guess"}
        )
        assert bad.status_code == 429
        # The UI's own call (service token) speaks for its browser.
        ui = anyone.post(
            "/login",
            json=body,
            headers={"X-Forwarded-For": "198.51.100.23", "X-Service-Token": SERVICE_TOKEN},
        )
    assert ui.status_code == 200, ui.text
    assert session_addresses(sec_stack.auth, ui.json()["token"])[0] == "198.51.100.23"


def test_the_ui_takes_the_browser_address_from_trusted_proxies_only(sec_stack):
    name = "p" + secrets.token_hex(4)
    register(sec_stack, sec_stack.auth, name)
    body = {"login": name, "password": PASSWORD}
    # 127.0.0.1 is the configured reverse proxy: its X-Forwarded-For names the browser.
    with client_from("127.0.0.1", sec_stack.ui) as proxy:
        via_proxy = proxy.post("/session/login", json=body, headers={"X-Forwarded-For": "203.0.113.50"})
    assert via_proxy.status_code == 200, via_proxy.text
    token = via_proxy.cookies["pixelplay_session"]
    # Anyone else forging the header: the UI uses the TCP peer.
    with client_from("127.0.0.9", sec_stack.ui) as direct:
        forged = direct.post("/session/login", json=body, headers={"X-Forwarded-For": "203.0.113.51"})
    assert forged.status_code == 200
    addresses = session_addresses(sec_stack.auth, token)
    assert "203.0.113.50" in addresses and "127.0.0.9" in addresses
    assert "203.0.113.51" not in addresses
