"""Real processes for the enricher's integration tests: the search service with a few catalog songs,
and Celery workers (``celery -A services.enricher.worker worker``) in their own process groups."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from services.common.catalog import build_songs, read_rows
from services.common.clients.search import SearchClient
from services.common.contracts.search import IndexItem
from services.common.contracts.songs import Song
from services.common.settings import get_common_settings
from tests.processes import ROOT, running_service

TOKEN = "enricher-test-token"
MODEL_ID = "test:enricher-vectors"
DIM = 8


@lru_cache(maxsize=1)
def _rows_by_track() -> dict[str, list[dict[str, str]]]:
    by_track: dict[str, list[dict[str, str]]] = {}
    for row in read_rows(Path(get_common_settings().catalog_path)):
        by_track.setdefault(row.get("track_id", ""), []).append(row)
    return by_track


def catalog_songs(track_ids: set[str]) -> list[Song]:
    """The real catalog entries of ``track_ids`` (merged across playlists like the index build does)."""
    rows = [row for tid in track_ids for row in _rows_by_track().get(tid, [])]
    songs = build_songs(rows)
    assert {s.track_id for s in songs} == track_ids, "a test track id is missing from the catalog"
    return songs


def vector_for(track_id: str) -> list[float]:
    """A fixed unit-ish vector per song: enrichment never searches, the index only needs points."""
    digest = hashlib.sha256(track_id.encode()).digest()
    return [(b - 127.5) / 127.5 for b in digest[:DIM]]


def index_songs(client: SearchClient, track_ids: set[str]) -> None:
    """Put those catalog songs into a new index version, then switch the alias to it in one step
    (as the re-index does), so no reader ever sees an index without them."""
    version = client.index_create_version(MODEL_ID, DIM).version
    items = [IndexItem(song=s, vector=vector_for(s.track_id)) for s in catalog_songs(track_ids)]
    client.index_points(MODEL_ID, items, version)
    client.index_activate(version)


@contextmanager
def search_service(data_dir: Path) -> Iterator[SearchClient]:
    """The real search service (embedded Qdrant under ``data_dir``), with no index yet."""
    env = {
        "PIXELPLAY_DATA_DIR": str(data_dir),
        "PIXELPLAY_SERVICE_TOKEN": TOKEN,
        "PIXELPLAY_LOG_JSON": "false",
    }
    with running_service("services.search.app:app", env) as url:
        client = SearchClient(url, token=TOKEN)
        try:
            yield client
        finally:
            client.close()


@contextmanager
def search_with_songs(track_ids: set[str], data_dir: Path) -> Iterator[SearchClient]:
    """The real search service holding those catalog songs."""
    with search_service(data_dir) as client:
        index_songs(client, track_ids)
        yield client


def search_url(client: SearchClient) -> str:
    return str(client._http.base_url).rstrip("/")


class Worker:
    """One ``celery worker`` process (prefork pool of ``concurrency`` children)."""

    def __init__(self, name: str, env: dict[str, str], log_path: Path, concurrency: int = 1):
        self.name = name
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "services.enricher.worker",
            "worker",
            "-c",
            str(concurrency),
            "-n",
            f"{name}@%h",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def pool_children(self) -> list[int]:
        """Pids of the pool processes (children of the main worker process)."""
        kids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                kids.append(int(stat.parent.name))
        return kids

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool): no chance to acknowledge or requeue."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # warm shutdown
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@contextmanager
def workers(count: int, env: dict[str, str], log_dir: Path) -> Iterator[list[Worker]]:
    log_dir.mkdir(parents=True, exist_ok=True)
    started = [Worker(f"w{i}", env, log_dir / f"worker-{i}.log") for i in range(count)]
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()


def wait_for(predicate, timeout_s: float, what: str, poll_s: float = 0.1):
    """Poll ``predicate`` until it returns a truthy value (returned) or fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
