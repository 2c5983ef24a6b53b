"""The health probes run as Docker runs them, against real local servers: deploy/healthcheck.py (the
PixelPlay images) and the compose healthchecks of the vendor images (Qdrant's bash /dev/tcp request,
pg_isready, redis-cli)."""

from __future__ import annotations

import shutil
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
    readyz_status = 200  # what /readyz answers; a test may change it

    def do_GET(self) -> None:
        status = {"/readyz": Handler.readyz_status, "/loading": 503}.get(self.path, 404)
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


# --- compose healthchecks of the vendor images ---------------------------------------------------------


def compose_check(service: str, replace: dict[str, str] | None = None) -> list[str]:
    """The healthcheck ``test`` of a compose service as an argv, ``$$`` unescaped like Compose does."""
    test = [cm.interpolate(part, {}) for part in cm.load()["services"][service]["healthcheck"]["test"]]
    for old, new in (replace or {}).items():
        test = [part.replace(old, new) for part in test]
    kind, args = test[0], test[1:]
    return ["sh", "-c", args[0]] if kind == "CMD-SHELL" else args


def run_check(argv: list[str], env: dict[str, str] | None = None) -> int:
    return subprocess.run(argv, capture_output=True, timeout=30, env=env).returncode


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_qdrant_check_reads_the_readyz_status(server: str, status: int, healthy: bool) -> None:
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    port = server.rsplit(":", 1)[1]
    Handler.readyz_status = status
    try:
        assert (run_check(compose_check("qdrant", {"/6333": f"/{port}"})) == 0) is healthy
    finally:
        Handler.readyz_status = 200


def test_qdrant_check_fails_when_nothing_listens() -> None:
    assert run_check(compose_check("qdrant", {"/6333": f"/{free_port()}"})) != 0


def test_postgres_check_runs_pg_isready() -> None:
    if shutil.which("pg_isready") is None:
        pytest.skip("pg_isready not installed")
    argv = compose_check("postgres")
    # The compose check reads POSTGRES_USER/POSTGRES_DB from the container's environment.
    env = {"PATH": "/usr/bin:/bin", "POSTGRES_USER": "postgres", "POSTGRES_DB": "postgres"}
    reachable = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], timeout=30).returncode == 0
    assert (run_check(argv, env) == 0) is reachable
    assert run_check([part.replace("127.0.0.1", f"127.0.0.1 -p {free_port()}") for part in argv], env) != 0


def test_redis_check_pings() -> None:
    if shutil.which("redis-cli") is None:
        pytest.skip("redis-cli not installed")
    reachable = subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True, timeout=30)
    assert (run_check(compose_check("redis")) == 0) is (b"PONG" in reachable.stdout)
    assert run_check([*compose_check("redis")[:1], "-p", str(free_port()), "ping"]) != 0
