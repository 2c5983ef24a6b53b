"""Schema migrations: recorded version, idempotent, safe when processes start together."""

from __future__ import annotations

import shutil
import threading

import psycopg
import pytest

from services.auth.migrations import (
    MIGRATIONS_DIR,
    MigrationError,
    apply_migrations,
    load_migrations,
    schema_version,
)


def test_apply_is_idempotent_and_records_the_version(pg_server):
    latest = load_migrations()[-1].version
    with pg_server.fresh_database() as url, psycopg.connect(url, autocommit=True) as conn:
        assert schema_version(conn) == 0
        assert apply_migrations(conn) == [m.version for m in load_migrations()]
        assert schema_version(conn) == latest
        assert apply_migrations(conn) == []
        assert schema_version(conn) == latest
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {
            "users",
            "sessions",
            "password_resets",
            "mail_outbox",
            "login_failures",
            "search_history",
        } <= tables


def test_concurrent_starts_apply_each_migration_once(pg_server):
    results: list[list[int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start(url: str) -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                barrier.wait(timeout=10)
                results.append(apply_migrations(conn))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    with pg_server.fresh_database() as url:
        threads = [threading.Thread(target=start, args=(url,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors
        assert sorted(results, key=len) == [[], [], [], [m.version for m in load_migrations()]]
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(
                load_migrations()
            )


def test_edited_migration_is_refused(pg_server, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    with pg_server.fresh_database() as url, psycopg.connect(url, autocommit=True) as conn:
        apply_migrations(conn, folder)
        first = sorted(folder.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited later\n")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            apply_migrations(conn, folder)


def test_new_migration_files_are_applied_in_order(pg_server, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    with pg_server.fresh_database() as url, psycopg.connect(url, autocommit=True) as conn:
        apply_migrations(conn, folder)
        (folder / "900_extra.sql").write_text("ALTER TABLE users ADD COLUMN nickname text;")
        assert apply_migrations(conn, folder) == [900]
        assert schema_version(conn) == 900
        conn.execute("SELECT nickname FROM users")


def test_badly_named_migration_is_an_error(tmp_path):
    (tmp_path / "first.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="001_name.sql"):
        load_migrations(tmp_path)
