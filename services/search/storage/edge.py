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
    Direction,
    Distance,
    EdgeConfig,
    EdgeOptimizersConfig,
    EdgeShard,
    EdgeVectorParams,
    Expression,
    FieldCondition,
    Filter,
    Formula,
    HasIdCondition,
    HnswIndexConfig,
    IsEmptyCondition,
    MatchAny,
    MatchText,
    MatchValue,
    OrderBy,
    PayloadSchemaType,
    PayloadSelector,
    Point,
    Prefetch,
    QuantizationSearchParams,
    Query,
    QueryRequest,
    RangeFloat,
    RecommendQuery,
    ScalarQuantizationConfig,
    ScalarType,
    ScrollRequest,
    SearchParams,
    TextIndexParams,
    TokenizerType,
    UpdateOperation,
)

from services.search.audio import AUDIO_DIM
from services.search.storage.base import (
    AUDIO_VECTOR,
    FLOAT_FIELDS,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    TEXT_FIELDS,
    VECTOR_NAME,
    CollectionMeta,
    Conditions,
    Fused,
    IndexMissing,
    Recommend,
    StoredPoint,
    Upsert,
    VersionNotFound,
    audio_of,
    named_vectors,
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
    must_not: list[Any] = [HasIdCondition(set(cond.exclude_ids))] if cond.exclude_ids else []
    must_not += [FieldCondition(k, match=MatchAny(list(v))) for k, v in cond.exclude_any.items()]
    return Filter(must=must or None, must_not=must_not or None)


def edge_config(dim: int, tuning: IndexTuning) -> EdgeConfig:
    """The shard config: description and audio vectors, HNSW graph, int8 quantization, payloads on
    disk."""
    quantization = (
        ScalarQuantizationConfig(ScalarType.Int8, quantile=tuning.quantile, always_ram=True)
        if tuning.quantization
        else None
    )
    return EdgeConfig(
        vectors={VECTOR_NAME: EdgeVectorParams(size=dim, distance=Distance.Cosine), **audio_vector_config()},
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
            version=name,
            model_id=data["model_id"],
            dim=data["dim"],
            created_at=data.get("created_at", 0.0),
            audio_dim=data.get("audio_dim", 0),
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
            create_text_indexes(shard)
            for key in KEYWORD_FIELDS:
                shard.update(UpdateOperation.create_field_index(key, PayloadSchemaType.Keyword))
            for key in INTEGER_FIELDS:
                shard.update(UpdateOperation.create_field_index(key, PayloadSchemaType.Integer))
            for key in FLOAT_FIELDS:
                shard.update(UpdateOperation.create_field_index(key, PayloadSchemaType.Float))
            shard.flush()
            self._shards[name] = shard
            meta = CollectionMeta(version=name, model_id=model_id, dim=dim, audio_dim=AUDIO_DIM)
            _write_json_atomically(
                self.root / f"{name}{META_SUFFIX}",
                {"model_id": model_id, "dim": dim, "created_at": meta.created_at, "audio_dim": AUDIO_DIM},
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
                UpdateOperation.upsert_points([Point(p.id, named_vectors(p), p.payload) for p in points])
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
        return [
            StoredPoint(str(r.id), dict(r.payload or {}), vector=_vector(r.vector), audio=audio_of(r.vector))
            for r in records
        ]

    def query(
        self,
        version: str | None,
        query: list[float] | Recommend | Fused,
        conditions: Conditions | None,
        limit: int,
        offset: int = 0,
        with_vectors: bool = False,
        exact: bool = False,
    ) -> list[StoredPoint]:
        edge_filter = to_edge_filter(conditions)
        if isinstance(query, Fused):
            request = fused_request(query, edge_filter, limit, offset, with_vectors)
        else:
            request = QueryRequest(
                limit=limit,
                offset=offset,
                query=_description_query(query),
                filter=edge_filter,
                with_payload=True,
                with_vector=with_vectors,
                params=search_params(self.tuning, exact),
            )
        with self._shard(version) as shard:
            hits = shard.query(request)
        return [
            StoredPoint(str(h.id), dict(h.payload or {}), h.score, _vector(h.vector), audio_of(h.vector))
            for h in hits
        ]

    def delete_other_sources(self, version: str | None, source: str) -> None:
        keep = Filter(must_not=[FieldCondition("source", match=MatchValue(source))])
        with self._shard(version) as shard:
            shard.update(UpdateOperation.delete_points_by_filter(keep))
            shard.flush()

    def match_names(
        self, version: str | None, words: list[str], limit: int, fields: list[str]
    ) -> list[StoredPoint]:
        must: list[Any] = [name_condition(word) for word in words]
        # order_by skips points without the key, so songs without a popularity come after.
        passes = [
            (Filter(must=must), OrderBy("popularity", Direction.Desc)),
            (Filter(must=[*must, IsEmptyCondition("popularity")]), None),
        ]
        found: list[StoredPoint] = []
        with self._shard(version) as shard:
            for edge_filter, order in passes:
                if len(found) >= limit:
                    break
                request = ScrollRequest(
                    limit=limit - len(found),
                    filter=edge_filter,
                    with_payload=PayloadSelector.Include(fields),
                    with_vector=False,
                    order_by=order,
                )
                records, _ = shard.scroll(request)
                found += [StoredPoint(str(r.id), dict(r.payload or {})) for r in records]
        return found

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


def _vector(raw: Any) -> list[float] | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        raw = raw.get(VECTOR_NAME)
    return list(raw) if raw is not None else None


# --- song names and the audio vector ----------------------------------------------------------------
def create_text_indexes(shard: EdgeShard) -> None:
    """Prefix tokens, lowercased, accents folded: "rhap" finds "Bohemian Rhapsody", "DAFT" finds
    "Daft Punk", "motley crue" finds "Mötley Crüe"."""
    params = TextIndexParams(tokenizer=TokenizerType.Prefix, lowercase=True, ascii_folding=True)
    for key in TEXT_FIELDS:
        shard.update(UpdateOperation.create_field_index(key, params))


def name_condition(word: str) -> Filter:
    """The title or the artist has a word starting with ``word``."""
    return Filter(should=[FieldCondition(key, match=MatchText(word)) for key in TEXT_FIELDS])


def audio_vector_config() -> dict[str, EdgeVectorParams]:
    return {AUDIO_VECTOR: EdgeVectorParams(size=AUDIO_DIM, distance=Distance.Euclid)}


def _description_query(query: list[float] | Recommend) -> Any:
    if isinstance(query, Recommend):
        return Query.RecommendBestScore(RecommendQuery(query.positives, query.negatives), using=VECTOR_NAME)
    return Query.Nearest(list(query), using=VECTOR_NAME)


def fused_request(
    fused: Fused, edge_filter: Filter | None, limit: int, offset: int, with_vectors: bool
) -> QueryRequest:
    """Two prefetches (description, audio) rescored by the formula of ``Fused``. A candidate found
    by one ranking only gets the other's worst plausible score through the formula defaults."""
    exact = SearchParams(exact=True)
    prefetches = [
        Prefetch(fused.depth, query=_description_query(fused.description), filter=edge_filter, params=exact),
        Prefetch(fused.depth, query=Query.Nearest(list(fused.audio), using=AUDIO_VECTOR), filter=edge_filter,
                 params=exact),
    ]  # fmt: skip
    description, audio = fused.multipliers()
    formula = Expression.Sum(
        [
            Expression.Mult([Expression.Constant(description), Expression.Variable("$score[0]")]),
            Expression.Mult([Expression.Constant(audio), Expression.Variable("$score[1]")]),
        ]
    )
    return QueryRequest(
        limit=limit,
        offset=offset,
        prefetches=prefetches,
        query=Formula(formula, defaults=fused.defaults()),
        with_payload=True,
        with_vector=with_vectors,
    )
