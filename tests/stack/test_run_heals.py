"""The run command keeps the app up and never dead-ends on a model change, against the real processes:

- ``kill -9`` of the encoder: it comes back on its own, the other services answer meanwhile, the
  terminal says why; the services' JSON access logs land in ``var/logs/<service>.log``;
- demo model -> another checkpoint -> back: each start re-indexes through the alias switch (the old
  version dropped after), and ``--strict-model`` keeps the refusal.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from scripts.make_demo_model import make_tiny_checkpoint
from tests.processes import wait_until_ready
from tests.run_stack import index_status, run_command, stack_env, wait_for_line

pytestmark = pytest.mark.slow


def check_a_killed_encoder_comes_back_while_the_others_serve(env: dict[str, str]) -> str:
    """Kill -9 the encoder of a fresh run command; returns the model its index was built with."""
    with run_command(env) as (proc, out):
        wait_for_line(out, "Ctrl-C stops everything", proc)
        encoder = env["PIXELPLAY_ENCODER_URL"]
        pid = int(
            subprocess.check_output(["pgrep", "-f", "--", f"--port {encoder.rsplit(':', 1)[1]}"]).split()[0]
        )
        os.kill(pid, signal.SIGKILL)
        # Search and auth keep answering while the encoder is away.
        for url in (env["PIXELPLAY_SEARCH_URL"], env["PIXELPLAY_AUTH_URL"]):
            assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
        wait_until_ready(f"{encoder}/readyz", proc, timeout_s=120)
        # 1 s backoff if it had run less than 30 s (a fast crash), else at once.
        assert re.search(r"\[run\] encoder was killed by signal 9; restarting in [01] s", out.read_text())
        assert "[run] restarting encoder (restart 1)" in out.read_text()
        assert proc.poll() is None
        status = index_status(env)
    assert proc.returncode == 0  # Ctrl-C: a clean stop
    terminal = out.read_text()
    assert '"level": "INFO"' not in terminal  # access logs stay off the terminal...
    logs = Path(env["PIXELPLAY_DATA_DIR"]) / "logs"
    assert '"path": "/readyz"' in (logs / "search.log").read_text()  # ...and go to the log files
    assert (logs / "encoder.log").read_text().count("Application startup complete") == 2
    assert "[run] stopping encoder" in terminal and "[run] stopping postgres" in terminal
    assert status["active"] == "songs_v1"
    return status["versions"][0]["model_id"]


def test_run_command_heals_and_switching_models_never_dead_ends(tiny_model_dir, tmp_path):
    with stack_env(tiny_model_dir) as env:
        check_heals_and_switches(env, tmp_path)


def check_heals_and_switches(env: dict[str, str], tmp_path: Path) -> None:
    first = env["PIXELPLAY_ENCODER_CLIP_CHECKPOINT"]
    other = str(make_tiny_checkpoint(tmp_path / "other-model", seed=1))

    def one_start(checkpoint: str, *flags: str) -> tuple[dict, str]:
        with run_command({**env, "PIXELPLAY_ENCODER_CLIP_CHECKPOINT": checkpoint}, *flags) as (proc, out):
            wait_for_line(out, "Ctrl-C stops everything", proc)
            status = index_status(env)
        return status, out.read_text()

    model_a = check_a_killed_encoder_comes_back_while_the_others_serve(env)

    status, terminal = one_start(other)
    assert f"the model changed ('{model_a}' -> " in terminal
    assert "indexing songs_v2: 100%" in terminal  # its progress bar
    assert "alias now -> songs_v2 (was songs_v1); dropped ['songs_v1']" in terminal
    assert [(v["version"], v["points"]) for v in status["versions"]] == [("songs_v2", 100)]
    model_b = status["versions"][0]["model_id"]
    assert model_b != model_a

    # Strict: the start stops with the reason and the index is left as it was.
    strict_env = {**env, "PIXELPLAY_ENCODER_CLIP_CHECKPOINT": first}
    with run_command(strict_env, "--strict-model") as (proc, out):
        assert proc.wait(timeout=180) != 0
    assert f"the index was built with model '{model_b}', the encoder serves '{model_a}'" in out.read_text()

    status, terminal = one_start(first)
    assert "alias now -> songs_v3 (was songs_v2); dropped ['songs_v2']" in terminal
    assert [(v["version"], v["model_id"]) for v in status["versions"]] == [("songs_v3", model_a)]
