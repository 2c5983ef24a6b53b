"""The auth service's Postgres connection pool and what "the database is down" means to callers.

psycopg_pool checks every connection as it is borrowed, so connections killed by a Postgres
restart (or ``pg_terminate_backend``) are replaced instead of failing a request; while Postgres is
unreachable, borrowing fails after ``db_pool_timeout_s`` and the app answers 503.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from services.auth.migrations import apply_migrations
from services.auth.settings import AuthSettings
from services.common.embedded import Embedded, start_postgres

log = logging.getLogger("pixelplay.auth.db")

# Errors that mean "Postgres cannot be reached right now" (the app maps them to 503).
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (psycopg.OperationalError, psycopg.InterfaceError)


@dataclass
class Database:
    """A connection pool plus the embedded server it may own."""

    pool: ConnectionPool
    embedded: Embedded | None = None

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection inside one transaction (committed on success, rolled back on error)."""
        with self.pool.connection() as conn:
            yield conn

    def close(self) -> None:
        self.pool.close()
        if self.embedded is not None:
            self.embedded.stop()


def resolve_database_url(settings: AuthSettings) -> tuple[str, Embedded | None]:
    """DATABASE_URL when set, else an embedded Postgres under ``data_dir/postgres`` (started here)."""
    if settings.database_url:
        return settings.database_url, None
    embedded = start_postgres(settings.data_dir / "postgres")
    log.info("DATABASE_URL not set: started embedded Postgres at %s", embedded.url)
    return embedded.url, embedded


def open_database(settings: AuthSettings) -> Database:
    """Open the pool, wait (bounded) for Postgres, apply migrations; raise if it never answers."""
    url, embedded = resolve_database_url(settings)
    pool = ConnectionPool(
        url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=settings.db_pool_timeout_s,
        check=lambda conn: check_and_sweep(pool, conn),
        kwargs={
            "row_factory": dict_row,
            "connect_timeout": settings.db_connect_timeout_s,
            # A stuck query must not hold a request (and a pool slot) forever.
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
        },
        open=False,
        name="auth",
    )
    database = Database(pool, embedded)
    try:
        migrate_when_ready(url, settings)
        pool.open(wait=False)
    except Exception:
        database.close()
        raise
    return database


def check_and_sweep(pool: ConnectionPool, conn: psycopg.Connection) -> None:
    """The pool's check on borrow; on a dead connection, also sweep every idle one.

    One dead connection usually means Postgres restarted and all of them died. psycopg_pool alone
    would find them one borrow at a time, backing off 1, 2, 4 s between attempts, so a request could
    time out (503) although Postgres is back; ``pool.check()`` discards them all at once instead and
    queues fresh connections.
    """
    try:
        ConnectionPool.check_connection(conn)
    except Exception:
        pool.check()
        raise


def migrate_when_ready(url: str, settings: AuthSettings) -> None:
    """Apply migrations, retrying while Postgres is still starting, for at most db_startup_timeout_s.

    Uses its own connection: migrations switch to autocommit, which must not leak into the pool.
    """
    timeout_s = settings.db_startup_timeout_s
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with psycopg.connect(url, connect_timeout=settings.db_connect_timeout_s) as conn:
                applied = apply_migrations(conn)
            if applied:
                log.info("applied auth schema migrations %s", applied)
            return
        except UNAVAILABLE_ERRORS as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"auth database unreachable for {timeout_s:.0f}s: {exc}") from exc
            log.warning("auth database not ready yet (%s); retrying", exc)
            time.sleep(1.0)
