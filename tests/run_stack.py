"""The run command as a test drives it: its own data dir and free ports, its terminal in a file."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from services.common.embedded import free_port
from tests.processes import ROOT

TOKEN = "run-stack-test-service-token"


@contextmanager
def stack_env(tiny_model_dir: Path) -> Iterator[dict[str, str]]:
    """The environment of a run command with its own data dir and ports, fully embedded."""
    # Not tmp_path: as root, pgserver runs Postgres as its own user, which needs a traversable folder.
    data_dir = Path(tempfile.mkdtemp(prefix="pixelplay-stack-"))
    os.chmod(data_dir, 0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "QDRANT_URL")}
    env.update(
        PYTHONPATH=str(ROOT),
        PIXELPLAY_DATA_DIR=str(data_dir / "var"),
        PIXELPLAY_ENCODER_CLIP_CHECKPOINT=str(tiny_model_dir),
        PIXELPLAY_ENCODER_URL=f"http://127.0.0.1:{free_port()}",
        PIXELPLAY_SEARCH_URL=f"http://127.0.0.1:{free_port()}",
        PIXELPLAY_AUTH_URL=f"http://127.0.0.1:{free_port()}",
        PIXELPLAY_AUTH_BCRYPT_ROUNDS="4",
        PIXELPLAY_SERVICE_TOKEN=TOKEN,
    )
    try:
        yield env
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def run_command(
    env: dict[str, str],
    *flags: str,
    parts: tuple[str, ...] = ("--no-ui", "--no-worker"),
    songs: int = 100,
) -> Iterator[tuple[subprocess.Popen, Path]]:
    """The run command (by default without UI and worker), its terminal in a file; Ctrl-C at the end."""
    out = Path(env["PIXELPLAY_DATA_DIR"]).parent / f"terminal-{time.monotonic_ns()}.txt"
    command = [sys.executable, "-m", "scripts.run", *parts, "--index-limit", str(songs), *flags]
    with out.open("wb") as sink:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        yield proc, out
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()


def wait_for_line(out: Path, text: str, proc: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in out.read_text():
        assert proc.poll() is None, f"the run command exited:\n{out.read_text()}"
        assert time.monotonic() < deadline, f"no '{text}' in:\n{out.read_text()}"
        time.sleep(0.3)


def index_status(env: dict[str, str]) -> dict:
    headers = {"X-Service-Token": TOKEN}
    return httpx.get(f"{env['PIXELPLAY_SEARCH_URL']}/index/status", headers=headers, timeout=10).json()
