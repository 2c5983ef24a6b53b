"""The infrastructure commands of compose and of deploy/k8s, run for real on this machine: Redis
started with their own arguments refuses clients without the password while every service's
REDIS_URL gets in, and the Postgres role script (deploy/k8s mounts the same files) gives
the auth service a role that owns its schema and nothing more, with which auth's migrations run."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from services.auth.migrations import apply_migrations
from tests.deploy import compose_model as cm
from tests.deploy import k8s_model as km
from tests.deploy.test_settings_env import DUMMY_SECRETS

ROLE_SCRIPT = cm.ROOT / "deploy" / "postgres" / "initdb" / "10-app-role.sh"
ROLE_SQL = cm.ROOT / "deploy" / "postgres" / "app-role.sql"
STACK = cm.load_interpolated(cm.COMPOSE_FILE, {**cm.read_env_file(), **DUMMY_SECRETS})["services"]


def compose_redis() -> tuple[list[str], dict[str, str]]:
    """Compose's Redis command and the REDIS_URL of every service that has one."""
    urls = {
        name: env["REDIS_URL"] for name, svc in STACK.items() if "REDIS_URL" in (env := cm.environment(svc))
    }
    return STACK["redis"]["command"], urls


def k8s_redis() -> tuple[list[str], dict[str, str]]:
    """The same from the production overlay, with the Secret's values filled in as the kubelet would."""
    if not km.KUBECTL.exists():
        pytest.skip("no .venv-checks: run scripts/install.sh --test")
    docs = km.render(km.PRODUCTION)
    redis_container = km.container(docs, "redis")
    env = km.environment(docs, redis_container, km.DUMMY_SECRETS)
    urls = {
        name: client["REDIS_URL"]
        for name, doc in km.workloads(docs).items()
        for container in km.pod_spec(doc)["containers"]
        if "REDIS_URL" in (client := km.environment(docs, container, km.DUMMY_SECRETS))
    }
    return [km.expand(arg, env) for arg in redis_container["args"]], urls


@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")
@pytest.mark.parametrize("stack", [compose_redis, k8s_redis], ids=["compose", "k8s"])
def test_redis_refuses_clients_without_the_password_and_every_client_url_gets_in(
    stack: Callable[[], tuple[list[str], dict[str, str]]], tmp_path: Path
) -> None:
    from services.common.embedded import free_port

    command, urls = stack()
    assert command[0] == "redis-server"
    assert {"search", "enricher", "enrich-all"} <= set(urls)
    port = free_port()
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
        # Each service's URL, pointed at this server, gets in.
        for name, url in urls.items():
            local = url.replace("@redis:6379", f"@127.0.0.1:{port}")
            assert local != url, f"{name}: REDIS_URL carries no password: {url}"
            assert redis.Redis.from_url(local).ping(), name
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
