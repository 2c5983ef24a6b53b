"""Server backend: a Qdrant server through qdrant-client, with real Qdrant aliases.

``location`` is a URL (``http://qdrant:6333``) or ``:memory:`` for qdrant-client's local mode,
which speaks the same API in-process (the contract tests run on it). The model a collection was
built with is kept in the collection's own metadata. Collections get the same HNSW and int8
quantization settings as the embedded store (``tuning.IndexTuning``), payloads on disk, and the
cluster layout (shards, replicas, write consistency) of ``tuning.ClusterLayout``. Local mode
accepts and ignores all of these: it always searches exactly.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from qdrant_client import QdrantClient, models

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
from services.search.storage.tuning import ClusterLayout, IndexTuning

_GREEN_WAIT_S = 3600.0  # the longest ``optimize`` waits for the server to finish indexing


def to_server_filter(cond: Conditions | None) -> models.Filter | None:
    """Translate the neutral conditions into a qdrant-client ``Filter``."""
    if cond is None or cond.is_empty():
        return None
    must: list[Any] = [
        models.FieldCondition(key=key, match=models.MatchAny(any=list(values)))
        for key, values in cond.match_any.items()
    ]
    for key, (low, high) in cond.ranges.items():
        must.append(models.FieldCondition(key=key, range=models.Range(gte=low, lte=high)))
    if cond.either:
        must.append(models.Filter(should=[to_server_filter(c) for c in cond.either]))
    must_not: list[Any] = [models.HasIdCondition(has_id=list(cond.exclude_ids))] if cond.exclude_ids else []
    must_not += [
        models.FieldCondition(key=k, match=models.MatchAny(any=list(v))) for k, v in cond.exclude_any.items()
    ]
    return models.Filter(must=must or None, must_not=must_not or None)


def collection_params(dim: int, tuning: IndexTuning, layout: ClusterLayout) -> dict[str, Any]:
    """``create_collection`` arguments: description and audio vectors, HNSW, int8 quantization,
    payloads on disk, cluster layout."""
    quantization = (
        models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(
                type=models.ScalarType.INT8, quantile=tuning.quantile, always_ram=True
            )
        )
        if tuning.quantization
        else None
    )
    return {
        "vectors_config": {
            VECTOR_NAME: models.VectorParams(size=dim, distance=models.Distance.COSINE),
            **audio_vector_config(),
        },
        "hnsw_config": models.HnswConfigDiff(
            m=tuning.m,
            ef_construct=tuning.ef_construct,
            full_scan_threshold=tuning.kilobytes(tuning.filter_exact_below, dim),
            payload_m=tuning.payload_m,
        ),
        "optimizers_config": models.OptimizersConfigDiff(
            indexing_threshold=tuning.kilobytes(tuning.exact_below, dim)
        ),
        "quantization_config": quantization,
        # Payloads are read for one page of hits; the indexed fields stay in RAM either way.
        "on_disk_payload": True,
        "shard_number": layout.shard_number,
        "replication_factor": layout.replication_factor,
        "write_consistency_factor": layout.write_consistency_factor,
    }


def search_params(tuning: IndexTuning, exact: bool) -> models.SearchParams:
    if exact:
        return models.SearchParams(exact=True, quantization=models.QuantizationSearchParams(ignore=True))
    acorn = models.AcornSearchParams(enable=True)  # filtered walks stay connected (see edge.py)
    if not tuning.quantization:  # a collection built with int8 vectors would still use them
        ignore = models.QuantizationSearchParams(ignore=True)
        return models.SearchParams(hnsw_ef=tuning.ef, quantization=ignore, acorn=acorn)
    rescoring = models.QuantizationSearchParams(rescore=True, oversampling=tuning.oversampling)
    return models.SearchParams(hnsw_ef=tuning.ef, quantization=rescoring, acorn=acorn)


class ServerStore:
    """``VectorStore`` over a Qdrant server (or qdrant-client's local mode)."""

    backend = "server"

    def __init__(
        self,
        location: str,
        alias: str,
        api_key: str | None = None,
        tuning: IndexTuning | None = None,
        layout: ClusterLayout | None = None,
    ):
        self.alias = alias
        self.tuning = tuning or IndexTuning()
        self.layout = layout or ClusterLayout()
        self.client = QdrantClient(location=location, api_key=api_key)
        # qdrant-client's local mode is not thread-safe; a real server does not need the lock
        # but it costs nothing next to a network round trip.
        self._lock = threading.RLock()
        self._metas: dict[str, CollectionMeta] = {}

    def active_version(self) -> str | None:
        with self._lock:
            for alias in self.client.get_aliases().aliases:
                if alias.alias_name == self.alias:
                    return alias.collection_name
        return None

    def versions(self) -> list[str]:
        with self._lock:
            names = [c.name for c in self.client.get_collections().collections]
        ours = [n for n in names if n.startswith(f"{self.alias}_v") and n.rsplit("_v", 1)[1].isdigit()]
        return sorted(ours, key=lambda v: int(v.rsplit("_v", 1)[1]))

    def _resolve(self, version: str | None) -> str:
        if version is None:
            # An alias always points at an existing collection: no need to list them (a round trip).
            if (name := self.active_version()) is None:
                raise IndexMissing(f"the '{self.alias}' index is empty: run scripts/index_catalog.py first")
            return name
        if version not in self.versions():
            raise VersionNotFound(f"no collection version '{version}'")
        return version

    def meta(self, version: str | None = None) -> CollectionMeta:
        name = self._resolve(version)
        if name in self._metas:  # a version's model and size never change: ask the server once
            return self._metas[name]
        with self._lock:
            info = self.client.get_collection(name)
        data = info.config.metadata or {}
        meta = CollectionMeta(
            version=name,
            model_id=data.get("model_id", ""),
            dim=int(data.get("dim", 0)),
            created_at=float(data.get("created_at", 0.0)),
            audio_dim=int(data.get("audio_dim", 0)),
        )
        self._metas[name] = meta
        return meta

    def create_version(self, model_id: str, dim: int) -> CollectionMeta:
        with self._lock:
            active = self.active_version()
            name = next_version_name(self.alias, self.versions() + ([active] if active else []))
            created_at = time.time()
            self._metas.pop(name, None)  # a name freed by a failed re-index can come back
            self.client.create_collection(
                name,
                **collection_params(dim, self.tuning, self.layout),
                metadata={"model_id": model_id, "dim": dim, "created_at": created_at, "audio_dim": AUDIO_DIM},
            )
            create_text_indexes(self.client, name)
            schemas = (
                [(k, models.PayloadSchemaType.KEYWORD) for k in KEYWORD_FIELDS]
                + [(k, models.PayloadSchemaType.INTEGER) for k in INTEGER_FIELDS]
                + [(k, models.PayloadSchemaType.FLOAT) for k in FLOAT_FIELDS]
            )
            for key, schema in schemas:
                self.client.create_payload_index(name, key, field_schema=schema)
            return CollectionMeta(
                version=name, model_id=model_id, dim=dim, created_at=created_at, audio_dim=AUDIO_DIM
            )

    def switch_alias(self, version: str) -> str | None:
        with self._lock:
            self._resolve(version)
            previous = self.active_version()
            ops: list[Any] = []
            if previous is not None:
                ops.append(
                    models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self.alias))
                )
            ops.append(
                models.CreateAliasOperation(
                    create_alias=models.CreateAlias(collection_name=version, alias_name=self.alias)
                )
            )
            # One request: Qdrant applies the delete + create together, so no search sees no alias.
            self.client.update_collection_aliases(change_aliases_operations=ops)
            return previous

    def drop_version(self, version: str) -> None:
        with self._lock:
            if version == self.active_version():
                raise ValueError(f"'{version}' is what '{self.alias}' points at; switch the alias first")
            self.client.delete_collection(version)
            self._metas.pop(version, None)

    def optimize(self, version: str | None) -> bool:
        """A server indexes in the background: wait until the collection is green (indexed)."""
        name = self._resolve(version)
        deadline = time.monotonic() + _GREEN_WAIT_S
        waited = False
        while True:
            with self._lock:
                status = self.client.get_collection(name).status
            if status == models.CollectionStatus.GREEN:
                return waited
            if status == models.CollectionStatus.GREY:  # pending but not started: an update starts it
                with self._lock:
                    self.client.update_collection(name, optimizers_config=models.OptimizersConfigDiff())
            if status == models.CollectionStatus.RED or time.monotonic() > deadline:
                raise RuntimeError(f"collection '{name}' is {status.value}, not indexed")
            waited = True
            time.sleep(1.0)

    def upsert(self, version: str | None, points: list[Upsert]) -> None:
        if not points:
            return
        name = self._resolve(version)
        structs = [models.PointStruct(id=p.id, vector=named_vectors(p), payload=p.payload) for p in points]
        with self._lock:
            self.client.upsert(name, structs, wait=True)

    def set_payload(self, version: str | None, pid: str, payload: dict[str, Any]) -> None:
        name = self._resolve(version)
        with self._lock:
            self.client.set_payload(name, payload=payload, points=[pid], wait=True)

    def retrieve(self, version: str | None, ids: list[str], with_vectors: bool = False) -> list[StoredPoint]:
        if not ids:
            return []
        name = self._resolve(version)
        with self._lock:
            records = self.client.retrieve(name, ids=list(ids), with_payload=True, with_vectors=with_vectors)
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
        name = self._resolve(version)
        server_filter = to_server_filter(conditions)
        if isinstance(query, Fused):
            arguments = fused_arguments(query, server_filter)
        else:
            arguments = {
                "query": _description_query(query),
                "using": VECTOR_NAME,
                "query_filter": server_filter,
                "search_params": search_params(self.tuning, exact),
            }
        with self._lock:
            response = self.client.query_points(
                name, limit=limit, offset=offset, with_payload=True, with_vectors=with_vectors, **arguments
            )
        return [
            StoredPoint(str(p.id), dict(p.payload or {}), p.score, _vector(p.vector), audio_of(p.vector))
            for p in response.points
        ]

    def delete_other_sources(self, version: str | None, source: str) -> None:
        name = self._resolve(version)
        keep = models.Filter(
            must_not=[models.FieldCondition(key="source", match=models.MatchValue(value=source))]
        )
        with self._lock:
            self.client.delete(name, points_selector=models.FilterSelector(filter=keep), wait=True)

    def match_names(
        self, version: str | None, words: list[str], limit: int, fields: list[str]
    ) -> list[StoredPoint]:
        name = self._resolve(version)
        must: list[Any] = [name_condition(word) for word in words]
        missing = models.IsEmptyCondition(is_empty=models.PayloadField(key="popularity"))
        # order_by skips points without the key, so songs without a popularity come after.
        passes = [
            (models.Filter(must=must), models.OrderBy(key="popularity", direction=models.Direction.DESC)),
            (models.Filter(must=[*must, missing]), None),
        ]
        found: list[StoredPoint] = []
        for server_filter, order in passes:
            if len(found) >= limit:
                break
            with self._lock:
                records, _ = self.client.scroll(
                    name,
                    scroll_filter=server_filter,
                    limit=limit - len(found),
                    with_payload=fields,
                    with_vectors=False,
                    order_by=order,
                )
            found += [StoredPoint(str(r.id), dict(r.payload or {})) for r in records]
        return found

    def count(self, version: str | None = None, conditions: Conditions | None = None) -> int:
        name = self._resolve(version)
        with self._lock:
            return self.client.count(name, count_filter=to_server_filter(conditions), exact=True).count

    def scroll(
        self,
        version: str | None,
        conditions: Conditions | None,
        limit: int,
        after: str | None = None,
        fields: list[str] | None = None,
    ) -> tuple[list[StoredPoint], str | None]:
        name = self._resolve(version)
        with self._lock:
            records, next_id = self.client.scroll(
                name,
                scroll_filter=to_server_filter(conditions),
                limit=limit,
                offset=after,
                with_payload=fields or True,
                with_vectors=False,
            )
        points = [StoredPoint(str(r.id), dict(r.payload or {})) for r in records]
        return points, (str(next_id) if next_id is not None else None)

    def close(self) -> None:
        with self._lock:
            self.client.close()


def _vector(raw: Any) -> list[float] | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        raw = raw.get(VECTOR_NAME)
    return list(raw) if raw is not None else None


# --- song names and the audio vector ----------------------------------------------------------------
def create_text_indexes(client: QdrantClient, collection: str) -> None:
    """Prefix tokens, lowercased, accents folded, as on the edge shard. qdrant-client's local mode
    ignores these settings and matches whole words only (see docs/search.md)."""
    params = models.TextIndexParams(
        type=models.TextIndexType.TEXT,
        tokenizer=models.TokenizerType.PREFIX,
        lowercase=True,
        ascii_folding=True,
    )
    for key in TEXT_FIELDS:
        client.create_payload_index(collection, key, field_schema=params)


def name_condition(word: str) -> models.Filter:
    """The title or the artist has a word starting with ``word``."""
    return models.Filter(
        should=[models.FieldCondition(key=key, match=models.MatchText(text=word)) for key in TEXT_FIELDS]
    )


def audio_vector_config() -> dict[str, models.VectorParams]:
    return {AUDIO_VECTOR: models.VectorParams(size=AUDIO_DIM, distance=models.Distance.EUCLID)}


def _description_query(query: list[float] | Recommend) -> Any:
    if isinstance(query, Recommend):
        return models.RecommendQuery(
            recommend=models.RecommendInput(
                positive=query.positives,
                negative=query.negatives or None,
                strategy=models.RecommendStrategy.BEST_SCORE,
            )
        )
    return list(query)


def fused_arguments(fused: Fused, server_filter: models.Filter | None) -> dict[str, Any]:
    """``query_points`` arguments for ``Fused``: two prefetches rescored by its formula, with the
    same defaults as the edge backend for a candidate found by one ranking only."""
    exact = models.SearchParams(exact=True)
    prefetch = [
        models.Prefetch(
            query=_description_query(fused.description), using=VECTOR_NAME, filter=server_filter,
            limit=fused.depth, params=exact,
        ),
        models.Prefetch(
            query=list(fused.audio), using=AUDIO_VECTOR, filter=server_filter, limit=fused.depth, params=exact
        ),
    ]  # fmt: skip
    description, audio = fused.multipliers()
    formula = models.SumExpression(
        sum=[
            models.MultExpression(mult=[description, "$score[0]"]),
            models.MultExpression(mult=[audio, "$score[1]"]),
        ]
    )
    return {"prefetch": prefetch, "query": models.FormulaQuery(formula=formula, defaults=fused.defaults())}
