"""What the fakes of the outside world (iTunes, Spotify) share: an app served over real HTTP on a
free 127.0.0.1 port from a thread of the test process, and the lock that guards what a fake was
told to do and what it saw."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from services.common.embedded import free_port


@contextmanager
def serving(app: FastAPI, name: str) -> Iterator[str]:
    """Serve ``app`` for the duration of the block; yields its base URL."""
    port = free_port()
    # A request still waiting out a planned delay when the block ends is dropped after a second, as
    # a real server going away would drop it.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def clear(lock: threading.Lock, *records: list | dict | set) -> None:
    """Empty a fake's ``records`` (plans, faults, calls) together, between two tests."""
    with lock:
        for record in records:
            record.clear()
