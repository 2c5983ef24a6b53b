"""The images, built from deploy/Dockerfile and started for real: each serves /readyz against the
real Postgres and Redis and runs as the unprivileged user.

Built from the real deploy/Dockerfile on a stand-in base image (tests/deploy/image_engine.py:
debootstrap, not the official python slim image) by a private Docker engine, with host networking.
The encoder image is not built: PyTorch's CPU index does not answer on these machines, and the
fallback, PyPI's torch, would add 4.3 GB of CUDA libraries to build and store.
Needs root, dockerd and debootstrap (scripts/install.sh --test), and TCP URLs for Postgres and
Redis in DATABASE_URL / REDIS_URL (scripts/test.sh sets them when the local servers answer).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tests.deploy import compose_model as cm
from tests.deploy import image_engine as ie
from tests.processes import free_port

TARGETS = ["search", "auth", "enricher", "ui"]
UID = "10001"
TOKEN = "image-test-token"
CACHE = Path(os.environ.get("PIXELPLAY_IMAGE_CACHE", "/var/tmp/pixelplay-images"))


def why_not_here() -> str | None:
    if missing := ie.tools_missing():
        return missing
    for name in ("DATABASE_URL", "REDIS_URL"):
        if "127.0.0.1" not in os.environ.get(name, ""):
            return f"{name} must be a TCP URL on 127.0.0.1: the containers use host networking"
    return None


@pytest.fixture(scope="module")
def images() -> Iterator[ie.Engine]:
    """The engine with every non-encoder target built as pixelplay/<target>:test."""
    if reason := why_not_here():
        pytest.skip(reason)
    with ie.engine(Path(f"/tmp/ppimg-{os.getpid()}")) as eng:
        ie.stand_in_base(eng, CACHE)
        for target in TARGETS:
            eng.docker(
                "build",
                "--network",
                "host",
                "-f",
                str(cm.ROOT / "deploy" / "Dockerfile"),
                "--target",
                target,
                "--build-arg",
                f"SERVICE={target}",
                "-t",
                f"pixelplay/{target}:test",
                str(cm.ROOT),
                timeout=1200,
            )
        yield eng


def run(eng: ie.Engine, target: str, env: dict[str, str], *command: str) -> str:
    args = ["run", "-d", "--network", "host", "--name", f"pp-{target}-{secrets.token_hex(3)}"]
    for key, value in env.items():
        args += ["-e", f"{key}={value}"]
    return eng.docker(*args, f"pixelplay/{target}:test", *command).stdout.strip()


def wait_ready(eng: ie.Engine, container: str, url: str, timeout_s: float = 120) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, timeout=5)
            if last.status_code == 200:
                return last
        except httpx.TransportError:
            pass
        time.sleep(1)
    logs = eng.docker("logs", container, check=False).stderr[-3000:]
    raise AssertionError(f"{url} not ready ({last.status_code if last else 'no answer'}): {logs}")


def user_of(eng: ie.Engine, container: str) -> str:
    return eng.docker("exec", container, "id", "-u").stdout.strip()


@pytest.fixture
def database() -> Iterator[str]:
    admin = os.environ["DATABASE_URL"]
    name = f"pixelplay_images_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield make_conninfo(admin, dbname=name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_each_image_serves_readyz_as_the_unprivileged_user(images: ie.Engine, database: str):
    common = {"PIXELPLAY_SERVICE_TOKEN": TOKEN, "PIXELPLAY_LOG_LEVEL": "WARNING"}
    started = []
    try:
        # search, on its embedded store: ready once an (empty) index exists.
        search_port = free_port()
        search = run(
            images,
            "search",
            {**common, "QDRANT_URL": ""},
            "uvicorn",
            "services.search.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(search_port),
        )
        started.append(search)
        search_url = f"http://127.0.0.1:{search_port}"
        wait_ready(images, search, f"{search_url}/healthz")
        assert httpx.get(f"{search_url}/readyz", timeout=5).status_code == 503  # no index yet
        ensure = httpx.post(
            f"{search_url}/index/ensure",
            json={"model_id": "test:model", "dim": 8},
            headers={"X-Service-Token": TOKEN},
            timeout=30,
        )
        assert ensure.status_code == 200, ensure.text
        assert wait_ready(images, search, f"{search_url}/readyz").json()["status"] == "ready"

        # auth, on the real Postgres: it creates its schema and answers a query.
        auth_port = free_port()
        auth = run(
            images,
            "auth",
            {**common, "DATABASE_URL": database},
            "uvicorn",
            "services.auth.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(auth_port),
        )
        started.append(auth)
        auth_url = f"http://127.0.0.1:{auth_port}"
        assert wait_ready(images, auth, f"{auth_url}/readyz").json()["status"] == "ready"

        # ui: ready when search and auth answer.
        ui_port = free_port()
        ui = run(
            images,
            "ui",
            {
                **common,
                "PIXELPLAY_SEARCH_URL": search_url,
                "PIXELPLAY_AUTH_URL": auth_url,
                "PIXELPLAY_UI_HOST": "127.0.0.1",
                "PIXELPLAY_UI_PORT": str(ui_port),
            },
        )
        started.append(ui)
        assert wait_ready(images, ui, f"http://127.0.0.1:{ui_port}/readyz", timeout_s=180).json()["ready"]

        # enricher: a worker has no HTTP port; it is ready when it answers its broker's ping.
        queue = f"images-{secrets.token_hex(3)}"
        enricher = run(
            images,
            "enricher",
            {
                **common,
                "REDIS_URL": os.environ["REDIS_URL"],
                "PIXELPLAY_SEARCH_URL": search_url,
                "PIXELPLAY_ENRICHER_QUEUE": queue,
            },
        )
        started.append(enricher)
        probe = (
            'celery -A services.enricher.worker inspect ping --destination "celery@$HOSTNAME" --timeout 10'
        )
        ping = ["exec", enricher, "sh", "-c", probe]
        deadline = time.monotonic() + 120
        while images.docker(*ping, check=False).returncode != 0:
            assert time.monotonic() < deadline, images.docker("logs", enricher, check=False).stderr[-3000:]
            time.sleep(2)

        for container in started:
            assert user_of(images, container) == UID
    finally:
        for container in started:
            images.docker("rm", "-f", container, check=False)
