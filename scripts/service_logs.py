"""Where the run command's children write: one rotated file each, and the terminal for what matters.

Every service logs JSON lines (access logs included) on stderr. Each line goes to
``<data dir>/logs/<service>.log`` (rotated at 10 MB, 3 old files kept); the terminal shows only
warnings and errors, readably, unless ``verbose`` asks for every line.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections import deque
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO

MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 3
LOUD = ("WARNING", "ERROR", "CRITICAL")


def terminal_line(service: str, line: str, verbose: bool) -> str | None:
    """What the terminal shows for one output line of ``service`` (None: the log file only)."""
    try:
        entry = json.loads(line)
    except ValueError:
        entry = None
    if isinstance(entry, dict) and "level" in entry:
        if not verbose and entry["level"] not in LOUD:
            return None
        text = f"[{service}] {entry['level']} {entry.get('msg', '')}"
        if exc := entry.get("exc"):
            text += "\n" + exc
        return text
    if verbose or any(word in line for word in LOUD):
        return f"[{service}] {line}"
    return None


class LogPump:
    """Copies children's output lines to their log files (and the terminal) on one thread each."""

    def __init__(self, log_dir: Path, verbose: bool = False):
        self.log_dir = log_dir
        self.verbose = verbose
        self._files: dict[str, logging.Logger] = {}
        self._lock = threading.Lock()
        log_dir.mkdir(parents=True, exist_ok=True)

    def _file(self, service: str) -> logging.Logger:
        with self._lock:
            if service not in self._files:
                handler = RotatingFileHandler(
                    self.log_dir / f"{service}.log", maxBytes=MAX_BYTES, backupCount=BACKUPS
                )
                handler.setFormatter(logging.Formatter("%(message)s"))
                logger = logging.getLogger(f"pixelplay.run.files.{service}")
                logger.propagate = False
                logger.setLevel(logging.INFO)
                logger.handlers[:] = [handler]
                self._files[service] = logger
            return self._files[service]

    def pump(self, service: str, stream: IO[bytes] | None, tail: deque[str]) -> threading.Thread:
        """Start copying ``stream`` until it closes; the last lines also land in ``tail``."""
        out = self._file(service)

        def copy() -> None:
            assert stream is not None
            for raw in stream:
                line = raw.decode(errors="replace").rstrip("\n")
                out.info(line)
                tail.append(line)
                if (shown := terminal_line(service, line, self.verbose)) is not None:
                    print(shown, file=sys.stderr, flush=True)
            stream.close()

        thread = threading.Thread(target=copy, name=f"logs-{service}", daemon=True)
        thread.start()
        return thread
