"""deploy/healthcheck.py, the containers' probe, run as Docker runs it against a real local server."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.common.embedded import free_port
from tests.deploy import compose_model as cm

PROBE = cm.ROOT / "deploy" / "healthcheck.py"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = {"/readyz": 200, "/loading": 503}.get(self.path, 404)
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def probe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROBE), *args], capture_output=True, text=True, timeout=30)


def test_ready_service_is_healthy(server: str) -> None:
    result = probe(f"{server}/readyz")
    assert result.returncode == 0 and "200" in result.stdout


def test_not_ready_service_is_unhealthy(server: str) -> None:
    result = probe(f"{server}/loading")
    assert result.returncode == 1 and "503" in result.stdout


def test_unreachable_service_is_unhealthy() -> None:
    result = probe(f"http://127.0.0.1:{free_port()}/readyz", "2")
    assert result.returncode == 1 and "unreachable" in result.stdout


def test_wrong_usage_is_reported() -> None:
    result = probe()
    assert result.returncode == 2 and "healthcheck.py" in result.stderr
