"""The storage contract both backends implement (qdrant-edge in-process, or a Qdrant server).

Searches address the alias (``songs``); the alias points at one concrete, versioned collection
(``songs_v1``, ``songs_v2``...). Each version records the model it was built with, so a search or
an upsert with vectors from another model can be refused instead of returning nonsense.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.common.schemas import UNIT_FEATURES

VECTOR_NAME = "clip"
# The second named vector: standardised audio features (services/search/audio.py), Euclidean.
AUDIO_VECTOR = "audio"
# Deterministic point ids: the same track always lands on the same point, so re-running the
# indexer overwrites instead of duplicating.
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://pixelplay.local/track")

# Payload indexes: every field a filter may name (each costs ~0.2 s to create on the edge shard).
KEYWORD_FIELDS = ("genre", "genres", "enrich_status", "source")
BUNDLED_SOURCE = "bundled"  # the catalog shipped in data/catalog; imports name their own
INTEGER_FIELDS = ("year", "popularity")
FLOAT_FIELDS = (*UNIT_FEATURES, "loudness", "tempo", "enriched_at")
# Full-text indexes (prefix tokens, lowercased) for finding a song by its name.
TEXT_FIELDS = ("title", "artist")


def point_id(track_id: str) -> str:
    """The Qdrant point id (UUIDv5 string) of a catalog track id."""
    return str(uuid.uuid5(_ID_NAMESPACE, track_id))


class StorageError(Exception):
    """Base of the errors the HTTP layer turns into 4xx/503 answers with this message."""


class IndexMissing(StorageError):
    """No collection behind the alias yet: the catalog has not been indexed."""


class VersionNotFound(StorageError):
    pass


class ModelMismatch(StorageError):
    """Vectors from one model were about to meet a collection built with another."""


class DimensionMismatch(StorageError):
    pass


@dataclass(frozen=True)
class CollectionMeta:
    """What a concrete collection was built with; stored beside it by each backend."""

    version: str
    model_id: str
    dim: int
    created_at: float = field(default_factory=time.time)
    audio_dim: int = 0  # size of the AUDIO_VECTOR; 0 for versions built before it existed


@dataclass
class Conditions:
    """A backend-neutral payload filter: every part must hold (AND); ``either`` is an OR group.

    match_any: field -> values, the field (or one element of a list field) equals one of them.
    ranges: field -> (min, max), inclusive, either end may be None.
    exclude_ids: point ids never returned.
    exclude_any: field -> values, the field equals none of them (a point without the field passes).
    """

    match_any: dict[str, list[str]] = field(default_factory=dict)
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    exclude_ids: list[str] = field(default_factory=list)
    either: list[Conditions] = field(default_factory=list)
    exclude_any: dict[str, list[str]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.match_any or self.ranges or self.exclude_ids or self.either or self.exclude_any)


@dataclass
class Recommend:
    """Score by the best similarity to any positive vector, penalised by the negatives."""

    positives: list[list[float]]
    negatives: list[list[float]] = field(default_factory=list)


@dataclass
class Fused:
    """Two rankings fused by a score formula: the description ranking (``description``: a vector
    or a recommendation) and the nearest audio vectors to ``audio``. Each candidate scores
    ``(1 - audio_weight) * description_score - audio_weight * audio_distance / audio_scale``;
    ``depth`` candidates come from each ranking."""

    description: list[float] | Recommend
    audio: list[float]
    audio_weight: float
    audio_scale: float
    depth: int

    def multipliers(self) -> tuple[float, float]:
        """The formula's factors for ``$score[0]`` (description) and ``$score[1]`` (audio distance)."""
        return 1.0 - self.audio_weight, -self.audio_weight / self.audio_scale

    def defaults(self) -> dict[str, float]:
        """Scores for a candidate missing from one ranking: the worst cosine, and twice the
        distance of two random songs."""
        return {"$score[0]": -1.0, "$score[1]": 2.0 * self.audio_scale}


@dataclass
class StoredPoint:
    id: str
    payload: dict[str, Any]
    score: float = 0.0
    vector: list[float] | None = None
    audio: list[float] | None = None  # the AUDIO_VECTOR, when asked for vectors and the point has one


@dataclass
class Upsert:
    id: str
    vector: list[float]
    payload: dict[str, Any]
    audio: list[float] | None = None


class VectorStore(Protocol):
    """One alias plus its versioned collections. ``version=None`` means "what the alias points at"."""

    backend: str
    alias: str

    def active_version(self) -> str | None: ...

    def versions(self) -> list[str]: ...

    def meta(self, version: str | None = None) -> CollectionMeta: ...

    def create_version(self, model_id: str, dim: int) -> CollectionMeta:
        """Create the next empty ``<alias>_vN`` collection with payload indexes; alias unchanged."""
        ...

    def switch_alias(self, version: str) -> str | None:
        """Point the alias at ``version`` atomically; return the version it pointed at before."""
        ...

    def drop_version(self, version: str) -> None: ...

    def optimize(self, version: str | None) -> bool:
        """Make a filled version's vector index ready (graph and quantized vectors) before it
        serves; True when work was done. Idempotent."""
        ...

    def upsert(self, version: str | None, points: list[Upsert]) -> None: ...

    def set_payload(self, version: str | None, pid: str, payload: dict[str, Any]) -> None: ...

    def retrieve(
        self, version: str | None, ids: list[str], with_vectors: bool = False
    ) -> list[StoredPoint]: ...

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
        ...

    def delete_other_sources(self, version: str | None, source: str) -> None:
        """Delete every point whose ``source`` payload is not ``source`` (or is missing)."""
        ...

    def match_names(
        self, version: str | None, words: list[str], limit: int, fields: list[str]
    ) -> list[StoredPoint]:
        """Up to ``limit`` points whose title or artist has a word starting with each of ``words``
        (full-text index, case-insensitive), most popular first; only ``fields`` of the payload."""
        ...

    def count(self, version: str | None = None, conditions: Conditions | None = None) -> int: ...

    def scroll(
        self,
        version: str | None,
        conditions: Conditions | None,
        limit: int,
        after: str | None = None,
        fields: list[str] | None = None,
    ) -> tuple[list[StoredPoint], str | None]:
        """Points in id order from ``after`` (an opaque cursor); returns the next cursor or None."""
        ...

    def close(self) -> None: ...


def named_vectors(point: Upsert) -> dict[str, list[float]]:
    """The point's vectors by name; a song without an audio vector is stored without one."""
    vectors = {VECTOR_NAME: point.vector}
    if point.audio is not None:
        vectors[AUDIO_VECTOR] = point.audio
    return vectors


def audio_of(raw: Any) -> list[float] | None:
    """The AUDIO_VECTOR out of a record's named vectors (``None`` when absent)."""
    vector = raw.get(AUDIO_VECTOR) if isinstance(raw, dict) else None
    return list(vector) if vector is not None else None


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


def next_version_name(alias: str, existing: list[str]) -> str:
    """``songs_v<max+1>``: always newer than every version that still exists."""
    numbers = [int(v.rsplit("_v", 1)[1]) for v in existing if v.rsplit("_v", 1)[-1].isdigit()]
    return f"{alias}_v{max(numbers, default=0) + 1}"
