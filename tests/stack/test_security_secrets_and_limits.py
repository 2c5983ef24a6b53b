"""Secrets, logs and request limits, against the running services."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time

import httpx
import psycopg
import pytest

from services.common.embedded import free_port
from services.ui.context import Context
from services.ui.handlers import Handlers
from services.ui.settings import UISettings
from tests.fixtures.security_stack import PASSWORD, client_from, register
from tests.processes import ROOT, running_service

MB = 1024 * 1024


def service_env(sec_stack, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **sec_stack.env, **extra}
    env.pop("PIXELPLAY_DEV_MODE", None)
    return env


@pytest.mark.parametrize(
    "command",
    [
        ["uvicorn", "services.auth.app:app", "--port", "0"],
        ["uvicorn", "services.search.app:app", "--port", "0"],
        ["services.ui.app"],
    ],
)
def test_services_refuse_to_start_with_the_default_secret(sec_stack, command):
    env = service_env(sec_stack)
    env.pop("PIXELPLAY_SERVICE_TOKEN")
    done = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "PIXELPLAY_SERVICE_TOKEN" in done.stderr and "refusing to start" in done.stderr
    # The development flag (what the run command sets) lets it through.
    env["PIXELPLAY_DEV_MODE"] = "true"
    env["PIXELPLAY_UI_PORT"] = str(free_port())
    proc = subprocess.Popen([sys.executable, "-m", *command], cwd=ROOT, env=env, stderr=subprocess.PIPE)
    try:
        time.sleep(6)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_reset_codes_never_reach_the_log(sec_stack, tmp_path):
    log_file = tmp_path / "auth.log"
    port = free_port()
    env = service_env(sec_stack, PIXELPLAY_LOG_LEVEL="DEBUG")
    with log_file.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "services.auth.app:app", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.3)
            name = "r" + secrets.token_hex(4)
            register(sec_stack, url, name)
            assert httpx.post(f"{url}/password/forgot", json={"login": name}).status_code == 202
            time.sleep(1.0)  # the mail is stored by a background task after the answer
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    with psycopg.connect(sec_stack.database_url) as conn:
        body = conn.execute(
            "SELECT body FROM mail_outbox WHERE recipient = %s", (f"{name}@example.com",)
        ).fetchone()[0]
    code = re.search(r"\n    (\S+)\n", body).group(1)
    log = log_file.read_text()
    assert "kept in the outbox" in log  # the mail was logged, by id
    assert code not in log and body not in log


def stream_upload(url: str, total: int, headers: dict[str, str]) -> tuple[int | None, int]:
    """POST ``total`` bytes chunked (no Content-Length); returns (status or None when the server
    cut the connection, bytes the client managed to send)."""
    sent = 0

    def chunks():
        nonlocal sent
        boundary = b'--pp\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        yield boundary
        while sent < total:
            sent += MB
            yield b"\0" * MB

    try:
        r = httpx.post(url, content=chunks(), headers=headers, timeout=60)
        return r.status_code, sent
    except (httpx.RemoteProtocolError, httpx.WriteError, httpx.ReadError):
        return None, sent


@pytest.mark.parametrize(
    ("service", "path", "limit_mb"), [("search", "/search/image", 12), ("encoder", "/encode/image", 10)]
)
def test_chunked_uploads_stop_at_the_body_limit(sec_stack, service, path, limit_mb):
    base = getattr(sec_stack, service)
    headers = {"Content-Type": "multipart/form-data; boundary=pp"}
    status, sent = stream_upload(base + path, 400 * MB, headers)
    assert status in (413, None), status
    assert sent < 100 * MB, f"the {service} read {sent // MB} MB of a body limited to {limit_mb} MB"
    if status is None:  # the connection was cut: a fresh request sees the 413 with its message
        small, _ = stream_upload(base + path, (limit_mb + 2) * MB, headers)
        assert small in (413, None)
    assert httpx.get(f"{base}/healthz").status_code == 200


def encoded_images(encoder_url: str) -> float:
    text = httpx.get(f"{encoder_url}/metrics").text
    found = re.findall(r'pixelplay_http_requests_total\{[^}]*route="/encode/image"[^}]*\} (\S+)', text)
    return sum(float(n) for n in found)


def test_the_ui_checks_the_session_before_the_encoder_sees_an_image(sec_stack, tmp_path, monkeypatch):
    from tests.photos import photo_png

    for key, value in sec_stack.env.items():
        monkeypatch.setenv(key, value)
    ctx = Context.from_settings(UISettings())
    try:
        photo = tmp_path / "p.png"
        photo.write_bytes(photo_png())
        before = encoded_images(sec_stack.encoder)
        out = Handlers.build(ctx).search.search(
            {"token": "forged-" + secrets.token_urlsafe(32), "user": None},
            {"path": str(photo), "orig_name": "p.png"}, "", 0.3, None, None, None, None,
            progress=lambda *a, **k: None,
        )  # fmt: skip
        assert "session has expired" in out["notice"]
        assert encoded_images(sec_stack.encoder) == before
    finally:
        ctx.close()


def test_a_registration_flood_from_one_address_is_refused_before_hashing(sec_stack):
    env = {
        **sec_stack.env,
        "PIXELPLAY_AUTH_REGISTER_MAX_PER_ADDRESS": "5",
        "PIXELPLAY_AUTH_BCRYPT_ROUNDS": "12",
    }
    with (
        running_service("services.auth.app:app", env, "/readyz", 120) as auth,
        client_from("127.0.0.11", auth) as flood,
    ):
        codes, refused_s = [], []
        for i in range(20):
            name = f"fl{i}" + secrets.token_hex(3)
            started = time.monotonic()
            r = flood.post(
                "/register", json={"username": name, "email": f"{name}@example.com", "password": PASSWORD}
            )
            codes.append(r.status_code)
            if r.status_code == 429:
                refused_s.append(time.monotonic() - started)
        assert codes[:5] == [202] * 5 and codes[5:] == [429] * 15, codes
        # Refused before bcrypt (cost 12 takes ~0.2 s or more here): each refusal is cheap.
        assert sorted(refused_s)[len(refused_s) // 2] < 0.1
        # Another address is not affected.
        with client_from("127.0.0.12", auth) as other:
            name = "ok" + secrets.token_hex(4)
            r = other.post(
                "/register", json={"username": name, "email": f"{name}@example.com", "password": PASSWORD}
            )
            assert r.status_code == 202
