"""Server backend: a Qdrant server through qdrant-client, with real Qdrant aliases.

``location`` is a URL (``http://qdrant:6333``) or ``:memory:`` for qdrant-client's local mode,
which speaks the same API in-process (the contract tests run on it). The model a collection was
built with is kept in the collection's own metadata. Collections get the same HNSW and int8
quantization settings as the embedded store (``tuning.IndexTuning``), payloads on disk, and the
cluster layout (shards, replicas, write consistency) of ``tuning.ClusterLayout``. Local mode
accepts and ignores all of these: it always searches exactly. ``server_requests`` turns the
neutral requests into qdrant-client's arguments.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from qdrant_client import QdrantClient, models

from services.search.storage.base import CollectionMeta, Conditions, Upsert, named_vectors, ordered_versions
from services.search.storage.server_requests import (
    DIALECT,
    collection_params,
    create_payload_indexes,
    query_arguments,
    scroll_arguments,
)
from services.search.storage.store import Scroll, Search, VectorStore
from services.search.storage.tuning import ClusterLayout, IndexTuning

_GREEN_WAIT_S = 3600.0  # the longest ``optimize`` waits for the server to finish indexing


class ServerStore(VectorStore):
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

    # --- aliases and versions ---------------------------------------------------------------------
    def active_version(self) -> str | None:
        with self._lock:
            for alias in self.client.get_aliases().aliases:
                if alias.alias_name == self.alias:
                    return alias.collection_name
        return None

    def versions(self) -> list[str]:
        with self._lock:
            names = [c.name for c in self.client.get_collections().collections]
        return ordered_versions(self.alias, names)

    def _exists(self, version: str) -> bool:
        return version in self.versions()

    def meta(self, version: str | None = None) -> CollectionMeta:
        name = self._resolve(version)
        if name in self._metas:  # a version's model and size never change: ask the server once
            return self._metas[name]
        with self._lock:
            info = self.client.get_collection(name)
        meta = self._metas[name] = CollectionMeta.from_record(name, info.config.metadata or {})
        return meta

    def _create(self, meta: CollectionMeta) -> None:
        self._metas.pop(meta.version, None)  # a name freed by a failed re-index can come back
        params = collection_params(meta.dim, self.tuning, self.layout)
        self.client.create_collection(meta.version, **params, metadata=meta.record())
        create_payload_indexes(self.client, meta.version)

    def _point_alias(self, version: str, previous: str | None) -> None:
        ops: list[Any] = []
        if previous is not None:
            ops.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self.alias)))
        ops.append(
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=version, alias_name=self.alias)
            )
        )
        # One request: Qdrant applies the delete + create together, so no search sees no alias.
        self.client.update_collection_aliases(change_aliases_operations=ops)

    def _drop(self, version: str) -> None:
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

    # --- points -----------------------------------------------------------------------------------
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

    def delete_other_sources(self, version: str | None, source: str) -> None:
        name = self._resolve(version)
        others = DIALECT.filter(Conditions(exclude_any={"source": [source]}))
        with self._lock:
            self.client.delete(name, points_selector=models.FilterSelector(filter=others), wait=True)

    def count(self, version: str | None = None, conditions: Conditions | None = None) -> int:
        name = self._resolve(version)
        with self._lock:
            return self.client.count(name, count_filter=DIALECT.filter(conditions), exact=True).count

    def _retrieve(self, version: str | None, ids: list[str], with_vectors: bool) -> list[Any]:
        name = self._resolve(version)
        with self._lock:
            return self.client.retrieve(name, ids=ids, with_payload=True, with_vectors=with_vectors)

    def _query(self, version: str | None, search: Search) -> list[Any]:
        name = self._resolve(version)
        with self._lock:
            return self.client.query_points(name, **query_arguments(search, self.tuning)).points

    def _scroll(self, version: str | None, request: Scroll) -> tuple[list[Any], Any]:
        name = self._resolve(version)
        with self._lock:
            return self.client.scroll(name, **scroll_arguments(request))

    def close(self) -> None:
        with self._lock:
            self.client.close()
