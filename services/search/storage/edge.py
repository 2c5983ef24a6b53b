"""Embedded backend: qdrant-edge shards in a folder, one shard folder per collection version.

Layout under ``root``::

    aliases.json            {"songs": "songs_v2"}   (replaced atomically with os.replace)
    songs_v2/               the EdgeShard folder
    songs_v2.meta.json      {"model_id": ..., "dim": ...}

Each shard is created with the HNSW and int8 quantization settings of ``tuning.IndexTuning``.
The edge engine builds the graph only when ``optimize()`` runs (``EdgeStore.optimize``, called
once a version is filled); until then, and for segments too small to be worth a graph, queries
scan exactly.
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

from qdrant_edge import (
    AcornSearchParams,
    CountRequest,
    Distance,
    EdgeConfig,
    EdgeOptimizersConfig,
    EdgeShard,
    EdgeVectorParams,
    FieldCondition,
    Filter,
    HasIdCondition,
    HnswIndexConfig,
    MatchAny,
    PayloadSchemaType,
    PayloadSelector,
    Point,
    QuantizationSearchParams,
    Query,
    QueryRequest,
    RangeFloat,
    RecommendQuery,
    ScalarQuantizationConfig,
    ScalarType,
    ScrollRequest,
    SearchParams,
    UpdateOperation,
)

from services.search.storage.base import (
    FLOAT_FIELDS,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    VECTOR_NAME,
    CollectionMeta,
    Conditions,
    IndexMissing,
    Recommend,
    StoredPoint,
    Upsert,
    VersionNotFound,
    next_version_name,
)
from services.search.storage.tuning import IndexTuning

ALIAS_FILE = "aliases.json"
META_SUFFIX = ".meta.json"
_DROP_WAIT_S = 30.0


def to_edge_filter(cond: Conditions | None) -> Filter | None:
    """Translate the neutral conditions into a qdrant-edge ``Filter``."""
    if cond is None or cond.is_empty():
        return None
    must: list[Any] = [
        FieldCondition(key, match=MatchAny(list(values))) for key, values in cond.match_any.items()
    ]
    for key, (low, high) in cond.ranges.items():
        must.append(FieldCondition(key, range=RangeFloat(gte=low, lte=high)))
    if cond.either:
        must.append(Filter(should=[to_edge_filter(c) for c in cond.either]))
    must_not = [HasIdCondition(set(cond.exclude_ids))] if cond.exclude_ids else None
    return Filter(must=must or None, must_not=must_not)


def edge_config(dim: int, tuning: IndexTuning) -> EdgeConfig:
    """The shard config: cosine vectors, HNSW graph, int8 quantization, payloads on disk."""
    quantization = (
        ScalarQuantizationConfig(ScalarType.Int8, quantile=tuning.quantile, always_ram=True)
        if tuning.quantization
        else None
    )
    return EdgeConfig(
        vectors={VECTOR_NAME: EdgeVectorParams(size=dim, distance=Distance.Cosine)},
        hnsw_config=HnswIndexConfig(
            m=tuning.m,
            ef_construct=tuning.ef_construct,
            full_scan_threshold=tuning.kilobytes(tuning.filter_exact_below, dim),
            payload_m=tuning.payload_m,
        ),
        quantization_config=quantization,
        optimizers=EdgeOptimizersConfig(indexing_threshold=tuning.kilobytes(tuning.exact_below, dim)),
        # A page reads ~20-200 payloads; on disk they cost RSS nothing at a million songs.
        on_disk_payload=True,
    )


def search_params(tuning: IndexTuning, exact: bool) -> SearchParams:
    if exact:
        return SearchParams(exact=True, quantization=QuantizationSearchParams(ignore=True))
    # ACORN: a filtered walk also looks at neighbours' neighbours, so songs that pass the filter
    # stay connected without extra per-payload links (payload_m 0); unfiltered queries ignore it.
    acorn = AcornSearchParams(enable=True)
    if not tuning.quantization:  # a collection built with int8 vectors would still use them
        return SearchParams(
            hnsw_ef=tuning.ef, quantization=QuantizationSearchParams(ignore=True), acorn=acorn
        )
    rescoring = QuantizationSearchParams(rescore=True, oversampling=tuning.oversampling)
    return SearchParams(hnsw_ef=tuning.ef, quantization=rescoring, acorn=acorn)


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


class EdgeStore:
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

    def active_version(self) -> str | None:
        with self._lock:
            return self._aliases().get(self.alias)

    def versions(self) -> list[str]:
        with self._lock:
            found = [p.name[: -len(META_SUFFIX)] for p in self.root.glob(f"{self.alias}_v*{META_SUFFIX}")]
            return sorted(found, key=lambda v: int(v.rsplit("_v", 1)[1]))

    def _resolve(self, version: str | None) -> str:
        name = version or self.active_version()
        if name is None:
            raise IndexMissing(f"the '{self.alias}' index is empty: run scripts/index_catalog.py first")
        if not (self.root / f"{name}{META_SUFFIX}").exists():
            raise VersionNotFound(f"no collection version '{name}'")
        return name

    def meta(self, version: str | None = None) -> CollectionMeta:
        name = self._resolve(version)
        data = json.loads((self.root / f"{name}{META_SUFFIX}").read_text())
        return CollectionMeta(
            version=name, model_id=data["model_id"], dim=data["dim"], created_at=data.get("created_at", 0.0)
        )

    def create_version(self, model_id: str, dim: int) -> CollectionMeta:
        with self._lock:
            existing = self.versions()
            active = self.active_version()
            name = next_version_name(self.alias, existing + ([active] if active else []))
            folder = self.root / name
            if folder.exists():  # leftover of a crash before its meta file was written
                shutil.rmtree(folder)
            shard = EdgeShard.create(str(folder), edge_config(dim, self.tuning))
            for key in KEYWORD_FIELDS:
                shard.update(UpdateOperation.create_field_index(key, PayloadSchemaType.Keyword))
            for key in INTEGER_FIELDS:
                shard.update(UpdateOperation.create_field_index(key, PayloadSchemaType.Integer))
            for key in FLOAT_FIELDS:
                shard.update(UpdateOperation.create_field_index(key, PayloadSchemaType.Float))
            shard.flush()
            self._shards[name] = shard
            meta = CollectionMeta(version=name, model_id=model_id, dim=dim)
            _write_json_atomically(
                self.root / f"{name}{META_SUFFIX}",
                {"model_id": model_id, "dim": dim, "created_at": meta.created_at},
            )
            return meta

    def switch_alias(self, version: str) -> str | None:
        with self._lock:
            self._resolve(version)
            aliases = self._aliases()
            previous = aliases.get(self.alias)
            aliases[self.alias] = version
            _write_json_atomically(self.root / ALIAS_FILE, aliases)
            return previous

    def drop_version(self, version: str) -> None:
        with self._lock:
            if version == self.active_version():
                raise ValueError(f"'{version}' is what '{self.alias}' points at; switch the alias first")
            # Searches that resolved the old version before the switch finish on it first.
            self._wait_idle(version)
            shard = self._shards.pop(version, None)
            if shard is not None:
                shard.close()
            (self.root / f"{version}{META_SUFFIX}").unlink(missing_ok=True)
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
    def upsert(self, version: str | None, points: list[Upsert]) -> None:
        if not points:
            return
        with self._shard(version) as shard:
            shard.update(
                UpdateOperation.upsert_points(
                    [Point(p.id, {VECTOR_NAME: p.vector}, p.payload) for p in points]
                )
            )
            shard.flush()

    def set_payload(self, version: str | None, pid: str, payload: dict[str, Any]) -> None:
        with self._shard(version) as shard:
            shard.update(UpdateOperation.set_payload([pid], payload))
            shard.flush()

    def retrieve(self, version: str | None, ids: list[str], with_vectors: bool = False) -> list[StoredPoint]:
        if not ids:
            return []
        with self._shard(version) as shard:
            records = shard.retrieve(list(ids), True, with_vectors)
        return [StoredPoint(str(r.id), dict(r.payload or {}), vector=_vector(r.vector)) for r in records]

    def query(
        self,
        version: str | None,
        query: list[float] | Recommend,
        conditions: Conditions | None,
        limit: int,
        offset: int = 0,
        with_vectors: bool = False,
        exact: bool = False,
    ) -> list[StoredPoint]:
        if isinstance(query, Recommend):
            recommend = RecommendQuery(query.positives, query.negatives)
            scoring = Query.RecommendBestScore(recommend, using=VECTOR_NAME)
        else:
            scoring = Query.Nearest(list(query), using=VECTOR_NAME)
        request = QueryRequest(
            limit=limit,
            offset=offset,
            query=scoring,
            filter=to_edge_filter(conditions),
            with_payload=True,
            with_vector=with_vectors,
            params=search_params(self.tuning, exact),
        )
        with self._shard(version) as shard:
            hits = shard.query(request)
        return [StoredPoint(str(h.id), dict(h.payload or {}), h.score, _vector(h.vector)) for h in hits]

    def count(self, version: str | None = None, conditions: Conditions | None = None) -> int:
        with self._shard(version) as shard:
            return shard.count(CountRequest(exact=True, filter=to_edge_filter(conditions)))

    def scroll(
        self,
        version: str | None,
        conditions: Conditions | None,
        limit: int,
        after: str | None = None,
        fields: list[str] | None = None,
    ) -> tuple[list[StoredPoint], str | None]:
        request = ScrollRequest(
            offset=after,
            limit=limit,
            filter=to_edge_filter(conditions),
            with_payload=PayloadSelector.Include(fields) if fields else True,
            with_vector=False,
        )
        with self._shard(version) as shard:
            records, next_id = shard.scroll(request)
        points = [StoredPoint(str(r.id), dict(r.payload or {})) for r in records]
        return points, (str(next_id) if next_id is not None else None)

    def close(self) -> None:
        with self._lock:
            for shard in self._shards.values():
                shard.close()
            self._shards.clear()


def _vector(raw: Any) -> list[float] | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        raw = raw.get(VECTOR_NAME)
    return list(raw) if raw is not None else None
