"""The ``VectorStore`` both backends are: one alias plus its versioned collections.

Searches address the alias (``songs``); the alias points at one concrete, versioned collection
(``songs_v1``, ``songs_v2``...). The rules both backends share (version names, the alias switch,
resolving ``version=None``, paging, name matching, reading points back) are written once here; a
backend supplies the underscored primitives in its own client's terms.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from services.search.audio import AUDIO_DIM
from services.search.storage.base import (
    VECTOR_NAME,
    CollectionMeta,
    Conditions,
    DimensionMismatch,
    Fused,
    IndexMissing,
    ModelMismatch,
    Recommend,
    StoredPoint,
    Upsert,
    VersionNotFound,
    audio_of,
    next_version_name,
)


@dataclass
class Search:
    """One ``VectorStore.query`` call, as a backend receives it."""

    query: list[float] | Recommend | Fused
    conditions: Conditions | None
    limit: int
    offset: int = 0
    with_vectors: bool = False
    exact: bool = False


@dataclass
class Scroll:
    """One page of points in id order (``after``: the cursor), or by ``order_by`` descending."""

    conditions: Conditions | None
    limit: int
    after: str | None = None
    fields: list[str] | None = None  # None: the whole payload
    order_by: str | None = None


class VectorStore(ABC):
    """One alias plus its versioned collections. ``version=None`` means "what the alias points at".

    ``_lock`` (re-entrant) guards the versions and the alias."""

    backend: str
    alias: str
    _lock: threading.RLock

    # --- versions and the alias --------------------------------------------------------------------
    @abstractmethod
    def active_version(self) -> str | None: ...

    @abstractmethod
    def versions(self) -> list[str]: ...

    @abstractmethod
    def meta(self, version: str | None = None) -> CollectionMeta: ...

    def create_version(self, model_id: str, dim: int) -> CollectionMeta:
        """Create the next empty ``<alias>_vN`` collection with payload indexes; alias unchanged."""
        with self._lock:
            active = self.active_version()
            name = next_version_name(self.alias, self.versions() + ([active] if active else []))
            meta = CollectionMeta(version=name, model_id=model_id, dim=dim, audio_dim=AUDIO_DIM)
            self._create(meta)
            return meta

    def switch_alias(self, version: str) -> str | None:
        """Point the alias at ``version`` atomically; return the version it pointed at before."""
        with self._lock:
            self._resolve(version)
            previous = self.active_version()
            self._point_alias(version, previous)
            return previous

    def drop_version(self, version: str) -> None:
        with self._lock:
            if version == self.active_version():
                raise ValueError(f"'{version}' is what '{self.alias}' points at; switch the alias first")
            self._drop(version)

    @abstractmethod
    def optimize(self, version: str | None) -> bool:
        """Make a filled version's vector index ready (graph and quantized vectors) before it
        serves; True when work was done. Idempotent."""

    def _resolve(self, version: str | None) -> str:
        """The concrete collection ``version`` names (None: the alias's), known to exist."""
        if version is None:
            # The alias always names an existing collection (drop_version refuses that one).
            if (active := self.active_version()) is None:
                raise IndexMissing(f"the '{self.alias}' index is empty: run scripts/index_catalog.py first")
            return active
        if not self._exists(version):
            raise VersionNotFound(f"no collection version '{version}'")
        return version

    @abstractmethod
    def _exists(self, version: str) -> bool: ...

    @abstractmethod
    def _create(self, meta: CollectionMeta) -> None:
        """Create the collection ``meta`` describes, with every payload index, and record ``meta``."""

    @abstractmethod
    def _point_alias(self, version: str, previous: str | None) -> None: ...

    @abstractmethod
    def _drop(self, version: str) -> None: ...

    # --- points ------------------------------------------------------------------------------------
    @abstractmethod
    def upsert(self, version: str | None, points: list[Upsert]) -> None: ...

    @abstractmethod
    def set_payload(self, version: str | None, pid: str, payload: dict[str, Any]) -> None: ...

    @abstractmethod
    def delete_other_sources(self, version: str | None, source: str) -> None:
        """Delete every point whose ``source`` payload is not ``source`` (or is missing)."""

    @abstractmethod
    def count(self, version: str | None = None, conditions: Conditions | None = None) -> int: ...

    def retrieve(self, version: str | None, ids: list[str], with_vectors: bool = False) -> list[StoredPoint]:
        if not ids:
            return []
        return [stored_point(r) for r in self._retrieve(version, list(ids), with_vectors)]

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
        """Nearest neighbours (cosine), best first, payload included: through the HNSW graph and
        quantized vectors (rescored) once the version is optimized, else, or with ``exact``, by a
        full scan."""
        search = Search(query, conditions, limit, offset, with_vectors, exact)
        return [stored_point(hit) for hit in self._query(version, search)]

    def scroll(
        self,
        version: str | None,
        conditions: Conditions | None,
        limit: int,
        after: str | None = None,
        fields: list[str] | None = None,
    ) -> tuple[list[StoredPoint], str | None]:
        """Points in id order from ``after`` (an opaque cursor); returns the next cursor or None."""
        records, next_id = self._scroll(version, Scroll(conditions, limit, after, fields))
        return [stored_point(r) for r in records], (str(next_id) if next_id is not None else None)

    def match_names(
        self, version: str | None, words: list[str], limit: int, fields: list[str]
    ) -> list[StoredPoint]:
        """Up to ``limit`` points whose title or artist has a word starting with each of ``words``
        (full-text index, case-insensitive), most popular first; only ``fields`` of the payload."""
        # Ordering skips points without the key, so songs without a popularity come after.
        passes = [
            Scroll(Conditions(words=list(words)), limit, fields=fields, order_by="popularity"),
            Scroll(Conditions(words=list(words), missing=["popularity"]), limit, fields=fields),
        ]
        found: list[StoredPoint] = []
        for request in passes:
            if len(found) >= limit:
                break
            request.limit = limit - len(found)
            records, _ = self._scroll(version, request)
            found += [stored_point(r) for r in records]
        return found

    @abstractmethod
    def _retrieve(self, version: str | None, ids: list[str], with_vectors: bool) -> list[Any]: ...

    @abstractmethod
    def _query(self, version: str | None, search: Search) -> list[Any]:
        """The backend's scored points for ``search``."""

    @abstractmethod
    def _scroll(self, version: str | None, request: Scroll) -> tuple[list[Any], Any]:
        """The backend's records for ``request`` and its next cursor (None at the end)."""

    @abstractmethod
    def close(self) -> None: ...


def stored_point(record: Any) -> StoredPoint:
    """A backend's point or record (``id``, ``payload``, ``vector``, a ``score`` when it was
    searched for) as a ``StoredPoint``."""
    return StoredPoint(
        str(record.id),
        dict(record.payload or {}),
        getattr(record, "score", 0.0) or 0.0,
        description_of(record.vector),
        audio_of(record.vector),
    )


def description_of(raw: Any) -> list[float] | None:
    """The VECTOR_NAME vector out of a record's vectors (``None`` when not asked for)."""
    if isinstance(raw, dict):
        raw = raw.get(VECTOR_NAME)
    return list(raw) if raw is not None else None


def checked_meta(
    store: VectorStore, version: str | None, model_id: str | None, dim: int | None
) -> CollectionMeta:
    """``store.meta(version)``, after refusing vectors from another model or of another size
    (``None`` skips that check). One rule for queries and for indexing."""
    meta = store.meta(version)
    if model_id is not None and model_id != meta.model_id:
        raise ModelMismatch(
            f"collection '{meta.version}' was built with model '{meta.model_id}', not '{model_id}'; "
            "re-index with scripts/reindex.py"
        )
    if dim is not None and dim != meta.dim:
        raise DimensionMismatch(
            f"vectors have {dim} dimensions, collection '{meta.version}' expects {meta.dim}"
        )
    return meta
