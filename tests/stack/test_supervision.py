"""The run command's supervisor with real child processes: restart with backoff and a logged reason,
give up after repeated fast crashes naming the process and its last words, stop in order."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from scripts.service_logs import LogPump, terminal_line
from scripts.supervision import GaveUp, Process, RestartPolicy, Supervisor

QUICK = RestartPolicy(first_backoff_s=0.1, max_backoff_s=0.4, stable_s=5.0, give_up_after=3)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def tick_until(supervisor: Supervisor, done, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "timed out"
        supervisor.tick()
        time.sleep(0.05)


def test_a_killed_process_is_restarted_and_the_reason_logged(tmp_path: Path):
    said: list[str] = []
    supervisor = Supervisor(QUICK, said.append)
    logs = LogPump(tmp_path / "logs")
    code = "import json,time; print(json.dumps({'level': 'INFO', 'msg': 'up'}), flush=True); time.sleep(60)"
    sleeper = supervisor.add(Process("sleeper", python(code), dict(os.environ), tmp_path, logs))
    idle = python("import time; time.sleep(60)")
    other = supervisor.add(Process("other", idle, dict(os.environ), tmp_path, logs))
    log = tmp_path / "logs" / "sleeper.log"
    try:
        tick_until(supervisor, lambda: log.read_text().count('"msg": "up"') == 1)
        first_pid = sleeper.pid
        os.kill(first_pid, signal.SIGKILL)
        tick_until(supervisor, lambda: supervisor.restarts("sleeper") == 1 and sleeper.running())
        assert sleeper.pid != first_pid
        # Killed soon after its start: that counts as a fast crash, so the first backoff applies.
        assert "sleeper was killed by signal 9; restarting in 0.1 s" in said
        assert other.running() and supervisor.restarts("other") == 0  # the others keep running
        tick_until(supervisor, lambda: log.read_text().count('"msg": "up"') == 2)
    finally:
        supervisor.stop()
    assert not sleeper.running() and not other.running()
    assert said[-2:] == ["stopping other", "stopping sleeper"]  # reverse start order


def test_repeated_fast_crashes_give_up_naming_the_process_and_why(tmp_path: Path):
    said: list[str] = []
    supervisor = Supervisor(QUICK, said.append)
    argv = python("raise SystemExit('cannot open the model')")
    crasher = Process("crasher", argv, dict(os.environ), tmp_path, LogPump(tmp_path / "logs"))
    supervisor.add(crasher)
    try:
        with pytest.raises(GaveUp) as gave_up:
            tick_until(supervisor, lambda: False)
    finally:
        supervisor.stop()
    message = str(gave_up.value)
    assert message.startswith(
        "[run] giving up on crasher: it stopped 3 times in a row within 5 s of starting"
    )
    assert message.endswith("exited with 1; its last words: cannot open the model")
    # Backoff grows between the restarts that came before giving up.
    assert [line.rsplit("restarting in ", 1)[1] for line in said if "restarting in" in line] == [
        "0.1 s",
        "0.2 s",
    ]
    assert [s for s in said if s.startswith("restarting crasher")] == [
        "restarting crasher (restart 1)",
        "restarting crasher (restart 2)",
    ]


def test_backoff_doubles_up_to_its_ceiling():
    policy = RestartPolicy(first_backoff_s=1, max_backoff_s=8)
    assert [policy.backoff(n) for n in range(6)] == [0, 1, 2, 4, 8, 8]


def test_the_terminal_shows_warnings_readably_and_keeps_access_logs_in_the_file():
    access = json.dumps({"level": "INFO", "msg": "GET /healthz 200 1.0 ms", "path": "/healthz"})
    warning = json.dumps({"level": "WARNING", "msg": "iTunes answered 503"})
    assert terminal_line("search", access, verbose=False) is None
    assert terminal_line("search", access, verbose=True) == "[search] INFO GET /healthz 200 1.0 ms"
    assert terminal_line("enricher", warning, verbose=False) == "[enricher] WARNING iTunes answered 503"
    assert terminal_line("redis", "Ready to accept connections", verbose=False) is None


def test_the_reason_is_the_last_logged_error_not_the_traceback_after_it(tmp_path: Path):
    said: list[str] = []
    supervisor = Supervisor(QUICK, said.append)
    code = (
        "import json, sys; print(json.dumps({'level': 'ERROR', 'msg': 'cannot start: no model here'}));"
        "print('Traceback (most recent call last):'); print('  File \"x.py\", line 1'); sys.exit(3)"
    )
    supervisor.add(Process("encoder", python(code), dict(os.environ), tmp_path, LogPump(tmp_path / "logs")))
    try:
        tick_until(supervisor, lambda: bool(said))
    finally:
        supervisor.stop()
    why = "its last error: cannot start: no model here"
    assert said[0] == f"encoder exited with 3; {why}; restarting in 0.1 s"
