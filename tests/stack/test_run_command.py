"""The README's run command on a fresh data folder, fully embedded: every service comes up, the index
is built on first start, a photo upload returns songs with full metadata, and Ctrl-C stops it all."""

from __future__ import annotations

import io
import signal
import subprocess
import sys

import httpx
import pytest
from PIL import Image

from services.common.embedded import free_port
from tests.processes import ROOT, wait_until_ready
from tests.run_stack import stack_env

pytestmark = pytest.mark.slow


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_run_command_serves_songs_with_embedded_engines(tiny_model_dir):
    with stack_env(tiny_model_dir) as env:
        check_serves_songs(env)


def check_serves_songs(env: dict[str, str]) -> None:
    ports = {
        name: env[f"PIXELPLAY_{name.upper()}_URL"].rsplit(":", 1)[1] for name in ("encoder", "search", "auth")
    }
    ports["ui"] = str(free_port())
    env["PIXELPLAY_UI_PORT"] = ports["ui"]
    proc = subprocess.Popen([sys.executable, "-m", "scripts.run", "--index-limit", "300"], cwd=ROOT, env=env)
    try:
        wait_until_ready(f"http://127.0.0.1:{ports['ui']}/", proc, timeout_s=300)
        search = env["PIXELPLAY_SEARCH_URL"]
        info = httpx.get(f"{search}/info", timeout=10).json()
        assert info["points"] >= 290  # a few of the first 300 share nothing but are all indexed
        response = httpx.post(
            f"{search}/search/image", files={"file": ("photo.png", png(), "image/png")}, timeout=60
        )
        assert response.status_code == 200, response.text
        hits = response.json()["hits"]
        assert len(hits) >= 5
        song = hits[0]["song"]
        for field in ("track_id", "title", "artist", "genre", "year", "spotify_url", "energy", "valence"):
            assert song[field] is not None, field
        scores = [h["score"] for h in hits]
        assert scores == sorted(scores, reverse=True)
        # The auth service runs on the embedded Postgres.
        assert httpx.get(f"{env['PIXELPLAY_AUTH_URL']}/readyz", timeout=10).status_code == 200
        # A second run command on the same data dir refuses to start and leaves this one alone.
        command = [sys.executable, "-m", "scripts.run"]
        second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode != 0
        assert f"another run command (pid {proc.pid}) is using" in second.stderr
        assert httpx.get(f"{search}/readyz", timeout=10).status_code == 200
        assert httpx.get(f"{env['PIXELPLAY_AUTH_URL']}/readyz", timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    # Everything it started is gone: the ports are free again.
    for port in ports.values():
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
