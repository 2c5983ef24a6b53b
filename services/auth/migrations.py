"""Versioned schema migrations for the auth database.

Migrations are the files ``migrations/NNN_name.sql``, applied in order, each in its own
transaction, and recorded in ``schema_migrations`` with a checksum. Applying is idempotent and
safe when several processes start at once: they queue on a Postgres advisory lock, and each one
re-reads the recorded versions once it holds the lock.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Arbitrary constant that identifies "auth schema migrations" among advisory locks.
ADVISORY_LOCK_KEY = 810_301_001
_FILE_NAME = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """The recorded schema disagrees with the migration files (edited after being applied)."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every ``NNN_name.sql`` in ``folder``, sorted by version; duplicate versions are an error."""
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file name must look like 001_name.sql: {path.name}")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations with version {version}")
        found[version] = Migration(version, match.group(2), path.read_text())
    return [found[v] for v in sorted(found)]


def apply_migrations(conn: psycopg.Connection, folder: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply the missing migrations; return the versions applied by this call (often none).

    ``conn`` must be idle (not inside a transaction): it is switched to autocommit.
    """
    migrations = load_migrations(folder)
    conn.autocommit = True  # each migration opens its own transaction below
    conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        recorded = dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())
        applied: list[int] = []
        for migration in migrations:
            if migration.version in recorded:
                if recorded[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version}_{migration.name} changed after it was applied; "
                        "add a new migration instead of editing an old one"
                    )
                continue
            with conn.transaction():
                conn.execute(migration.sql.encode())  # no parameters: several statements allowed
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            applied.append(migration.version)
        return applied
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def schema_version(conn: psycopg.Connection) -> int:
    """The highest applied migration version, 0 for an empty database."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]
