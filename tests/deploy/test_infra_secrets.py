"""The compose stack's infrastructure commands, run for real on this machine: Redis started with
compose's own arguments refuses clients without the password, and the Postgres role script gives
the auth service a role that owns its schema and nothing more, with which auth's migrations run."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from services.auth.migrations import apply_migrations
from tests.deploy import compose_model as cm
from tests.deploy.test_settings_env import DUMMY_SECRETS

ROLE_SCRIPT = cm.ROOT / "deploy" / "postgres" / "initdb" / "10-app-role.sh"
ROLE_SQL = cm.ROOT / "deploy" / "postgres" / "app-role.sql"
STACK = cm.load_interpolated(cm.COMPOSE_FILE, {**cm.read_env_file(), **DUMMY_SECRETS})["services"]


@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")
def test_redis_with_the_compose_command_refuses_clients_without_the_password(tmp_path: Path) -> None:
    from services.common.embedded import free_port

    port = free_port()
    command = STACK["redis"]["command"]
    assert command[0] == "redis-server"
    proc = subprocess.Popen(
        [*command, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        anonymous = redis.Redis(port=port, socket_timeout=2)
        while True:
            try:
                anonymous.ping()
                pytest.fail("Redis answered a client without the password")
            except redis.AuthenticationError:
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        # The enricher's URL from compose, pointed at this server, gets in.
        url = STACK["enricher"]["environment"]["REDIS_URL"].replace("@redis:6379", f"@127.0.0.1:{port}")
        assert redis.Redis.from_url(url).ping()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def fresh_database() -> Iterator[tuple[str, str]]:
    admin = os.environ.get("DATABASE_URL")
    if not admin or not shutil.which("psql"):
        pytest.skip("needs a Postgres server (DATABASE_URL) and psql")
    name = f"pixelplay_role_test_{secrets.token_hex(4)}"
    role = f"pp_auth_{secrets.token_hex(4)}"  # roles are cluster-wide: never reuse one
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(admin, dbname=name), role
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_auth_gets_a_role_that_owns_only_its_schema(fresh_database: tuple[str, str]) -> None:
    url, role = fresh_database
    info = conninfo_to_dict(url)
    password = secrets.token_hex(16)
    env = {
        **os.environ,
        "PGHOST": info.get("host") or "127.0.0.1",
        "PGPORT": str(info.get("port") or 5432),
        "POSTGRES_USER": info.get("user") or "postgres",
        "POSTGRES_DB": info["dbname"],
        "AUTH_DB_USER": role,
        "AUTH_DB_PASSWORD": password,
        "APP_ROLE_SQL": str(ROLE_SQL),
    }
    if info.get("password"):
        env["PGPASSWORD"] = info["password"]
    done = subprocess.run(["sh", str(ROLE_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    app_url = make_conninfo(url, user=role, password=password)
    with psycopg.connect(app_url) as conn:
        assert apply_migrations(conn), "auth's migrations run as the app role"
    with psycopg.connect(app_url, autocommit=True) as conn:
        flags = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert flags == (False, False, False)
        tables = conn.execute(
            "SELECT DISTINCT schemaname FROM pg_tables WHERE tableowner = current_user"
        ).fetchall()
        assert tables == [(role,)], "every table the role owns is in its own schema"
        for statement in (
            "CREATE TABLE public.intruder (x int)",
            "CREATE DATABASE intruder",
            "CREATE ROLE intruder",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
