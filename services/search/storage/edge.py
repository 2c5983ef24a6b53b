"""Embedded backend: qdrant-edge shards in a folder, one shard folder per collection version.

Layout under ``root``::

    aliases.json            {"songs": "songs_v2"}   (replaced atomically with os.replace)
    songs_v2/               the EdgeShard folder
    songs_v2.meta.json      {"model_id": ..., "dim": ...}

Each shard is created with the HNSW and int8 quantization settings of ``tuning.IndexTuning``.
The edge engine builds the graph only when ``optimize()`` runs (``EdgeStore.optimize``, called
once a version is filled); until then, and for segments too small to be worth a graph, queries
scan exactly. ``edge_requests`` turns the neutral requests into qdrant-edge's objects.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qdrant_edge import CountRequest, EdgeShard, Point, UpdateOperation

from services.search.storage.base import CollectionMeta, Conditions, Upsert, named_vectors, ordered_versions
from services.search.storage.edge_requests import (
    DIALECT,
    create_payload_indexes,
    edge_config,
    query_request,
    scroll_request,
)
from services.search.storage.store import Scroll, Search, VectorStore
from services.search.storage.tuning import IndexTuning

ALIAS_FILE = "aliases.json"
META_SUFFIX = ".meta.json"
_DROP_WAIT_S = 30.0


def build_graph(folder: str) -> bool:
    """Open a closed shard, build its graph and quantized vectors, close it (run in a child)."""
    shard = EdgeShard.load(folder)
    try:
        changed = shard.optimize()
        shard.flush()
    finally:
        shard.close()
    return changed


def _write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)  # readers see either the old or the new file, never half of one


class EdgeStore(VectorStore):
    """``VectorStore`` over qdrant-edge shards. Thread-safe: FastAPI runs sync routes in a pool."""

    backend = "edge"

    def __init__(self, root: Path, alias: str, tuning: IndexTuning | None = None):
        self.root = Path(root)
        self.alias = alias
        self.tuning = tuning or IndexTuning()
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._shards: dict[str, EdgeShard] = {}
        self._in_use: dict[str, int] = {}
        self._building: set[str] = set()
        self._idle = threading.Condition(self._lock)

    # --- aliases and versions ---------------------------------------------------------------------
    def _aliases(self) -> dict[str, str]:
        path = self.root / ALIAS_FILE
        return json.loads(path.read_text()) if path.exists() else {}

    def _meta_file(self, version: str) -> Path:
        return self.root / f"{version}{META_SUFFIX}"

    def active_version(self) -> str | None:
        with self._lock:
            return self._aliases().get(self.alias)

    def versions(self) -> list[str]:
        with self._lock:
            found = [p.name[: -len(META_SUFFIX)] for p in self.root.glob(f"{self.alias}_v*{META_SUFFIX}")]
            return ordered_versions(self.alias, found)

    def _exists(self, version: str) -> bool:
        return self._meta_file(version).exists()

    def meta(self, version: str | None = None) -> CollectionMeta:
        name = self._resolve(version)
        return CollectionMeta.from_record(name, json.loads(self._meta_file(name).read_text()))

    def _create(self, meta: CollectionMeta) -> None:
        folder = self.root / meta.version
        if folder.exists():  # leftover of a crash before its meta file was written
            shutil.rmtree(folder)
        shard = EdgeShard.create(str(folder), edge_config(meta.dim, self.tuning))
        create_payload_indexes(shard)
        shard.flush()
        self._shards[meta.version] = shard
        _write_json_atomically(self._meta_file(meta.version), meta.record())

    def _point_alias(self, version: str, previous: str | None) -> None:
        aliases = self._aliases()
        aliases[self.alias] = version
        _write_json_atomically(self.root / ALIAS_FILE, aliases)

    def _drop(self, version: str) -> None:
        # Searches that resolved the old version before the switch finish on it first.
        self._wait_idle(version)
        shard = self._shards.pop(version, None)
        if shard is not None:
            shard.close()
        self._meta_file(version).unlink(missing_ok=True)
        shutil.rmtree(self.root / version, ignore_errors=True)

    @contextmanager
    def _shard(self, version: str | None) -> Iterator[EdgeShard]:
        with self._lock:
            name = self._resolve(version)
            while name in self._building:  # its graph is being built by a child process
                self._idle.wait(timeout=1.0)
            shard = self._shards.get(name)
            if shard is None:
                shard = self._shards[name] = EdgeShard.load(str(self.root / name))
            self._in_use[name] = self._in_use.get(name, 0) + 1
        try:
            yield shard
        finally:
            with self._lock:
                self._in_use[name] -= 1
                self._idle.notify_all()

    def optimize(self, version: str | None) -> bool:
        """Build the HNSW graph and quantized vectors of a filled version; True when anything was
        built, False if it was already done.

        qdrant-edge holds the GIL while it builds (minutes at a million songs), which would stall
        every request of this process. So a version that is not serving (a re-index) is built in a
        child process while this one keeps answering from the active version. The active version
        (the first index) is built in-process: its searches pause until the graph is ready."""
        with self._lock:
            name = self._resolve(version)
            if name == self.active_version():
                serving = True
            else:
                serving = False
                self._building.add(name)  # _shard waits, so no request reopens it meanwhile
                self._wait_idle(name)
                shard = self._shards.pop(name, None)
                if shard is not None:
                    shard.close()
        if serving:
            with self._shard(name) as shard:
                changed = shard.optimize()
                shard.flush()
            return changed
        try:
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                return pool.apply(build_graph, (str(self.root / name),))
        finally:
            with self._lock:
                self._building.discard(name)
                self._idle.notify_all()

    def _wait_idle(self, name: str) -> None:
        """Let searches that already hold the version finish first (bounded)."""
        deadline = time.monotonic() + _DROP_WAIT_S
        while self._in_use.get(name, 0) and time.monotonic() < deadline:
            self._idle.wait(timeout=0.5)

    def indexed_vectors(self, version: str | None = None) -> int:
        """How many vectors of the version are in an HNSW graph (0: every query scans exactly)."""
        with self._shard(version) as shard:
            return shard.info().indexed_vectors_count

    # --- points -----------------------------------------------------------------------------------
    def _write(self, version: str | None, operation: Any) -> None:
        with self._shard(version) as shard:
            shard.update(operation)
            shard.flush()

    def upsert(self, version: str | None, points: list[Upsert]) -> None:
        if points:
            records = [Point(p.id, named_vectors(p), p.payload) for p in points]
            self._write(version, UpdateOperation.upsert_points(records))

    def set_payload(self, version: str | None, pid: str, payload: dict[str, Any]) -> None:
        self._write(version, UpdateOperation.set_payload([pid], payload))

    def delete_other_sources(self, version: str | None, source: str) -> None:
        others = DIALECT.filter(Conditions(exclude_any={"source": [source]}))
        self._write(version, UpdateOperation.delete_points_by_filter(others))

    def count(self, version: str | None = None, conditions: Conditions | None = None) -> int:
        with self._shard(version) as shard:
            return shard.count(CountRequest(exact=True, filter=DIALECT.filter(conditions)))

    def _retrieve(self, version: str | None, ids: list[str], with_vectors: bool) -> list[Any]:
        with self._shard(version) as shard:
            return shard.retrieve(ids, True, with_vectors)

    def _query(self, version: str | None, search: Search) -> list[Any]:
        request = query_request(search, self.tuning)
        with self._shard(version) as shard:
            return shard.query(request)

    def _scroll(self, version: str | None, request: Scroll) -> tuple[list[Any], Any]:
        with self._shard(version) as shard:
            return shard.scroll(scroll_request(request))

    @contextmanager
    def quiesced(self) -> Iterator[Path]:
        """Hold every read and write, with every shard flushed and closed, while the caller copies or
        replaces the folder it yields: a consistent copy, taken or put back online."""
        with self._lock:
            # Uses that started before wait for nothing but this; new ones cannot start (they need
            # the lock to resolve their version).
            while any(self._in_use.values()):
                self._idle.wait(timeout=0.5)
            for shard in self._shards.values():
                shard.flush()
                shard.close()
            self._shards.clear()
            yield self.root

    def close(self) -> None:
        with self._lock:
            for shard in self._shards.values():
                shard.close()
            self._shards.clear()
