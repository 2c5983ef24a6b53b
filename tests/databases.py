"""The databases tests run against: fresh Postgres databases on a server the tests may create and
drop databases on, and the Redis database kept for tests on a shared server."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from services.common.embedded import start_postgres

# Redis database for tests when REDIS_URL points at a shared server: keeps test keys and queues away
# from a running app's (which uses the database in its URL, 0 by default).
TEST_REDIS_DB = 13


def redis_test_url(url: str) -> str:
    """``url`` (a Redis server) with the test database in place of its own."""
    base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
    return f"{base}/{TEST_REDIS_DB}"


@dataclass
class PgServer:
    """A Postgres server the tests may create and drop databases on."""

    admin_url: str

    def create_database(self, prefix: str = "pixelplay_test") -> str:
        name = f"{prefix}_{secrets.token_hex(4)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return make_conninfo(self.admin_url, dbname=name)

    def drop_database(self, url: str) -> None:
        name = conninfo_to_dict(url)["dbname"]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    @contextmanager
    def fresh_database(self) -> Iterator[str]:
        url = self.create_database()
        try:
            yield url
        finally:
            self.drop_database(url)


def stack_database(stack: ExitStack, base: Path) -> str:
    """A fresh database for one test session's processes, dropped when ``stack`` closes: on
    DATABASE_URL's server, else on an embedded Postgres under ``base``."""
    admin_url = os.environ.get("DATABASE_URL")
    if not admin_url:  # no local server: an embedded Postgres for this session
        embedded = start_postgres(base / "pgdata")
        stack.callback(embedded.stop)
        admin_url = embedded.url
    server = PgServer(admin_url)
    db_url = server.create_database("pixelplay_ui_test")
    stack.callback(server.drop_database, db_url)
    return db_url
