"""What the storage speaks in, for both backends (qdrant-edge in-process, or a Qdrant server):
point ids, collection metadata, neutral filters and queries, and the errors the HTTP layer maps.

Searches address the alias (``songs``); the alias points at one concrete, versioned collection
(``songs_v1``, ``songs_v2``...). Each version records the model it was built with, so a search or
an upsert with vectors from another model can be refused instead of returning nonsense.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from services.common.contracts.songs import UNIT_FEATURES

VECTOR_NAME = "clip"
# The second named vector: standardised audio features (services/search/audio.py), Euclidean.
AUDIO_VECTOR = "audio"
# Deterministic point ids: the same track always lands on the same point, so re-running the
# indexer overwrites instead of duplicating.
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://pixelplay.local/track")

# Payload indexes: every field a filter may name (each costs ~0.2 s to create on the edge shard),
# by kind. "text": full-text (prefix tokens, lowercased) for finding a song by its name.
BUNDLED_SOURCE = "bundled"  # the catalog shipped in data/catalog; imports name their own
TEXT_FIELDS = ("title", "artist")
INDEXED_FIELDS: dict[str, tuple[str, ...]] = {
    "text": TEXT_FIELDS,
    "keyword": ("genre", "genres", "enrich_status", "source"),
    "integer": ("year", "popularity"),
    "float": (*UNIT_FEATURES, "loudness", "tempo", "enriched_at"),
}


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

    @classmethod
    def from_record(cls, version: str, record: dict[str, Any]) -> CollectionMeta:
        """The meta of ``version`` from what ``record()`` stored beside it."""
        return cls(
            version=version,
            model_id=str(record.get("model_id", "")),
            dim=int(record.get("dim", 0)),
            created_at=float(record.get("created_at", 0.0)),
            audio_dim=int(record.get("audio_dim", 0)),
        )

    def record(self) -> dict[str, Any]:
        """What a backend stores beside the collection (everything but the version name)."""
        fields = ("model_id", "dim", "created_at", "audio_dim")
        return {name: getattr(self, name) for name in fields}


@dataclass
class Conditions:
    """A backend-neutral payload filter: every part must hold (AND); ``either`` is an OR group.

    match_any: field -> values, the field (or one element of a list field) equals one of them.
    ranges: field -> (min, max), inclusive, either end may be None.
    exclude_ids: point ids never returned.
    exclude_any: field -> values, the field equals none of them (a point without the field passes).
    words: the title or the artist has a word starting with each of them (full-text index).
    missing: fields the point has no value for.
    """

    match_any: dict[str, list[str]] = field(default_factory=dict)
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    exclude_ids: list[str] = field(default_factory=list)
    either: list[Conditions] = field(default_factory=list)
    exclude_any: dict[str, list[str]] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (
            self.match_any or self.ranges or self.exclude_ids or self.either or self.exclude_any
            or self.words or self.missing
        )  # fmt: skip


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


def next_version_name(alias: str, existing: list[str]) -> str:
    """``songs_v<max+1>``: always newer than every version that still exists."""
    numbers = [int(v.rsplit("_v", 1)[1]) for v in existing if v.rsplit("_v", 1)[-1].isdigit()]
    return f"{alias}_v{max(numbers, default=0) + 1}"


def ordered_versions(alias: str, names: list[str]) -> list[str]:
    """The ``<alias>_vN`` names among ``names``, oldest (lowest N) first."""
    ours = [n for n in names if n.startswith(f"{alias}_v") and n.rsplit("_v", 1)[1].isdigit()]
    return sorted(ours, key=lambda v: int(v.rsplit("_v", 1)[1]))
