"""Keep the run command's processes alive: restart what dies, with backoff, and say why.

Home-made rather than ``supervisord`` or ``honcho``: the run command owns the embedded engines
(pgserver's Postgres is not a child process we can exec in the foreground), passes each service an
environment computed at start-up, and must wait for readiness between steps and re-index in the
middle. supervisord would need a generated config file, its own daemon and an RPC client for all of
that; honcho stops everything when one process exits, so the restart loop would still be ours. The
whole policy below (backoff, give up after fast crashes) is one small class.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from scripts.service_logs import LogPump


class Unit(Protocol):
    """Something the supervisor keeps running: a child process, or an embedded engine."""

    name: str

    def start(self) -> None: ...

    def running(self) -> bool: ...

    def exit_reason(self) -> str: ...

    def terminate(self) -> None: ...

    def wait_stopped(self, timeout_s: float) -> None: ...


def last_words(tail: deque[str]) -> str:
    """Why a process ended, from its last output lines: its last logged error (the service's own
    sentence), else its last line (a bare traceback's exception line)."""
    for line in reversed(tail):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") in ("ERROR", "CRITICAL") and entry.get("msg"):
            return f"its last error: {str(entry['msg'])[:300]}"
    last = next((line.strip() for line in reversed(tail) if line.strip()), "")
    return f"its last words: {last[:300]}" if last else ""


@dataclass
class Process:
    """A child process whose output goes through a ``LogPump`` (its log file, and the terminal)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    logs: LogPump
    proc: subprocess.Popen | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=50))
    _pump: threading.Thread | None = None

    def start(self) -> None:
        self.tail.clear()
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Its own session: Ctrl-C reaches the run command only, which stops the parts in order.
            start_new_session=True,
        )
        self._pump = self.logs.pump(self.name, self.proc.stdout, self.tail)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exit_reason(self) -> str:
        if self._pump is not None:
            self._pump.join(timeout=2)  # its last lines, which say why
        code = self.proc.returncode if self.proc else None
        if code is not None and code < 0:
            return f"was killed by signal {-code}"
        return f"exited with {code}" + (f"; {why}" if (why := last_words(self.tail)) else "")

    def terminate(self) -> None:
        if self.running():
            self.proc.terminate()

    def wait_stopped(self, timeout_s: float) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Engine:
    """An embedded engine run by a library in this process: ``alive`` checks it, ``start`` (re)starts it."""

    name: str
    check: Callable[[], bool]
    restart: Callable[[], None]
    stop: Callable[[], None]

    def start(self) -> None:
        self.restart()

    def running(self) -> bool:
        return self.check()

    def exit_reason(self) -> str:
        return "stopped answering"

    def terminate(self) -> None:
        self.stop()

    def wait_stopped(self, timeout_s: float) -> None:
        return None


@dataclass(frozen=True)
class RestartPolicy:
    """Back off 1, 2, 4... s (at most ``max_backoff_s``) after crashes that came soon after a start;
    give up after ``give_up_after`` of them in a row. A unit that ran ``stable_s`` restarts at once."""

    first_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    stable_s: float = 30.0
    give_up_after: int = 5

    def backoff(self, fast_crashes: int) -> float:
        if fast_crashes == 0:
            return 0.0
        return min(self.max_backoff_s, self.first_backoff_s * 2 ** (fast_crashes - 1))


class GaveUp(SystemExit):
    """A unit crashed too often too soon after starting; the message names it and why."""


@dataclass
class _Watch:
    unit: Unit
    started_at: float = 0.0
    fast_crashes: int = 0
    restart_at: float | None = None  # set while it waits out its backoff
    restarts: int = 0


class Supervisor:
    def __init__(self, policy: RestartPolicy, say: Callable[[str], None]):
        self.policy = policy
        self.say = say
        self._watches: list[_Watch] = []
        self._lock = threading.Lock()

    def add(self, unit: Unit, *, started: bool = False) -> Unit:
        """Supervise ``unit`` from now on (``started``: it is already running)."""
        if not started:
            unit.start()
        with self._lock:
            self._watches.append(_Watch(unit, started_at=time.monotonic()))
        return unit

    def restarts(self, name: str) -> int:
        return next(w.restarts for w in self._watches if w.unit.name == name)

    def tick(self) -> None:
        """Notice deaths and restart what is due; raises ``GaveUp`` when a unit keeps crashing."""
        now = time.monotonic()
        for watch in list(self._watches):
            unit = watch.unit
            if watch.restart_at is not None:
                if now >= watch.restart_at:
                    watch.restart_at = None
                    watch.restarts += 1
                    self.say(f"restarting {unit.name} (restart {watch.restarts})")
                    watch.started_at = time.monotonic()
                    try:
                        unit.start()
                    except Exception as exc:  # an engine that cannot come back counts as a crash
                        self._crashed(watch, f"could not start: {exc}", now)
                continue
            if unit.running():
                continue
            self._crashed(watch, unit.exit_reason(), now)

    def _crashed(self, watch: _Watch, reason: str, now: float) -> None:
        fast = now - watch.started_at < self.policy.stable_s
        watch.fast_crashes = watch.fast_crashes + 1 if fast else 0
        if watch.fast_crashes >= self.policy.give_up_after:
            raise GaveUp(
                f"[run] giving up on {watch.unit.name}: it stopped {watch.fast_crashes} times in a row"
                f" within {self.policy.stable_s:.0f} s of starting; last time it {reason}"
            )
        delay = self.policy.backoff(watch.fast_crashes)
        self.say(f"{watch.unit.name} {reason}; restarting in {delay:g} s")
        watch.restart_at = now + delay

    def stop(self) -> None:
        """Stop every unit in reverse start order, each before the next: the worker acknowledges its
        task in Redis before Redis goes, and every service closes its connections before Postgres."""
        with self._lock:
            watches = list(reversed(self._watches))
            self._watches.clear()
        for watch in watches:
            if watch.unit.running():
                self.say(f"stopping {watch.unit.name}")
            watch.unit.terminate()
            watch.unit.wait_stopped(20)
