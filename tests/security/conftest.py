"""The running services an attacker meets: auth, encoder, search and the UI as real processes
(tiny CLIP checkpoint, an empty song index, a fresh Postgres database), started once per session.

The attacker's requests leave from other loopback addresses (127.0.0.2, ...), which Linux routes
like 127.0.0.1, so every attack uses real, distinct TCP peers.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.processes import running_service
from tests.ui.conftest import service_env, stack_database

SERVICE_TOKEN = "security-test-service-token-" + secrets.token_hex(8)
PASSWORD = "Victim-Pass-2024!"
# Short so the tests do not sleep for long; the behaviour is the default's, scaled down.
DELAY_MAX_S = "0.5"


@dataclass
class SecurityStack:
    env: dict[str, str]
    database_url: str
    auth: str
    encoder: str
    search: str
    ui: str


def client_from(address: str, base_url: str, **kwargs) -> httpx.Client:
    """An HTTP client whose TCP connections come from ``address`` (a 127.x loopback address)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base_url, transport=transport, timeout=30, **kwargs)


def mailed_code(database_url: str, recipient: str, subject: str) -> str:
    """The code in the newest outbox mail with ``subject`` to ``recipient`` (the local outbox is
    where auth keeps mail when no SMTP server is configured)."""
    deadline = time.monotonic() + 10
    while True:  # the mail is written by a background task just after the answer
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT body FROM mail_outbox WHERE recipient = %s AND subject = %s ORDER BY id DESC LIMIT 1",
                (recipient, subject),
            ).fetchone()
        if row or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert row, f"no mail {subject!r} to {recipient}"
    return re.search(r"\n    (\S+)\n", row[0]).group(1)


def register(stack: SecurityStack, auth_url: str, name: str, password: str = PASSWORD) -> None:
    """Register, and confirm through the mailed code as a person does when auth asks for it (202;
    test_registration.py checks that it always does outside development)."""
    email = f"{name}@example.com"
    r = httpx.post(f"{auth_url}/register", json={"username": name, "email": email, "password": password})
    assert r.status_code in (201, 202), r.text
    if r.status_code == 201:
        return
    code = mailed_code(stack.database_url, email, "Confirm your PixelPlay account")
    confirmed = httpx.post(f"{auth_url}/register/confirm", json={"code": code})
    assert confirmed.status_code == 201, confirmed.text


@pytest.fixture(scope="session")
def sec_stack(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[SecurityStack]:
    base = tmp_path_factory.mktemp("security-stack")
    with ExitStack() as stack:
        db_url = stack_database(stack, base)
        env = service_env(base, tiny_model_dir, SERVICE_TOKEN, db_url) | {
            "PIXELPLAY_HTTP_RETRIES": "1",
            "PIXELPLAY_AUTH_LOGIN_DELAY_MAX_S": DELAY_MAX_S,
            "PIXELPLAY_DEV_MODE": "false",
        }
        auth = stack.enter_context(running_service("services.auth.app:app", env, "/readyz", 180))
        encoder = stack.enter_context(running_service("services.encoder.app:app", env, "/readyz", 180))
        env |= {"PIXELPLAY_AUTH_URL": auth, "PIXELPLAY_ENCODER_URL": encoder}
        search = stack.enter_context(running_service("services.search.app:app", env, "/healthz", 180))
        env["PIXELPLAY_SEARCH_URL"] = search
        # The UI as the run command and compose start it (its own main, which applies the proxy
        # setting), trusting a reverse proxy on 127.0.0.1 only.
        ui_env = {**env, "PIXELPLAY_UI_TRUSTED_PROXIES": "127.0.0.1"}
        ui = stack.enter_context(running_service("", ui_env, "/healthz", 120, command=["services.ui.app"]))
        yield SecurityStack(env, db_url, auth, encoder, search, ui)
