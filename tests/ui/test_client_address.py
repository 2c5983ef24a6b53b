"""The UI tells auth which browser is signing in, so auth's per-address login throttle counts
people rather than the UI process (every login's TCP peer); tests/stack/test_security_forwarded_address.py
checks that auth believes it only with the service token."""

from __future__ import annotations

import httpx

from services.common.clients.auth import AuthClient

LOGIN_ANSWER = {  # auth's LoginResponse
    "token": "t" * 43,
    "expires_at": "2026-12-25T00:00:00Z",
    "user": {
        "id": "8d5e957f-2bd1-4c3e-9c1e-6a7e2f0b1c11",
        "username": "ada",
        "email": "ada@example.com",
        "created_at": "2026-11-25T00:00:00Z",
    },
    "device_token": "d" * 43,
}


def test_auth_client_forwards_the_address_only_when_given():
    seen: list[str | None] = []

    def auth(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("x-forwarded-for"))
        return httpx.Response(200, json=LOGIN_ANSWER)

    client = AuthClient("http://auth", transport=httpx.MockTransport(auth))
    assert client.login("ada", "pw", "203.0.113.7").user.username == "ada"
    client.login("ada", "pw")
    assert seen == ["203.0.113.7", None]
