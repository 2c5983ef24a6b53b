"""Start PixelPlay services as real processes on free localhost ports, for integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from services.common.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def running_service(
    app: str,
    env: dict[str, str],
    ready_path: str = "/healthz",
    timeout_s: float = 60.0,
    command: list[str] | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """Run ``uvicorn <app>`` (e.g. "services.search.app:app") and yield its base URL. ``command``
    runs that module instead (``python -m MODULE``), with the port in PIXELPLAY_UI_PORT. ``port``
    when the URL must be known before the process starts (an OAuth redirect URL), else a free one."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    args = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    if command:
        args = [sys.executable, "-m", *command]
        full_env |= {"PIXELPLAY_UI_HOST": "127.0.0.1", "PIXELPLAY_UI_PORT": str(port)}
    proc = subprocess.Popen(args, cwd=ROOT, env=full_env)
    try:
        wait_until_ready(url + ready_path, proc, timeout_s)
        yield url
    finally:
        stop(proc, timeout_s=15)


def stop(proc: subprocess.Popen, timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within ``timeout_s``."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout_s)


def wait_until_ready(url: str, proc: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout_s}s")


def service_env(base: Path, model_dir: Path, token: str, db_url: str | None = None) -> dict[str, str]:
    """What every service process of a test stack reads: its data dir, the tiny model, quick hashing,
    and the database when the stack has one."""
    env = {
        "PIXELPLAY_DATA_DIR": str(base / "var"),
        "PIXELPLAY_ENCODER_CLIP_CHECKPOINT": str(model_dir),
        "PIXELPLAY_SERVICE_TOKEN": token,
        "PIXELPLAY_AUTH_BCRYPT_ROUNDS": "4",
        "PIXELPLAY_LOG_JSON": "false",
        "PIXELPLAY_LOG_LEVEL": "WARNING",
    }
    if db_url is not None:
        env["DATABASE_URL"] = db_url
    return env


def indexed_search(
    stack: ExitStack, env: dict[str, str], songs: int, timeout_s: float, quiet: bool = False
) -> None:
    """The encoder and search as processes on ``stack`` (their URLs added to ``env``), then the first
    ``songs`` catalog songs indexed through them by the indexing job (its output hidden if ``quiet``)."""
    env["PIXELPLAY_ENCODER_URL"] = stack.enter_context(
        running_service("services.encoder.app:app", env, ready_path="/readyz", timeout_s=180)
    )
    env["PIXELPLAY_SEARCH_URL"] = stack.enter_context(
        running_service("services.search.app:app", env, timeout_s=180)
    )
    subprocess.run(
        [sys.executable, "-m", "scripts.index_catalog", "--limit", str(songs), "--no-progress"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        check=True,
        timeout=timeout_s,
        stdout=subprocess.DEVNULL if quiet else None,
    )
