"""Filling and switching collection versions, for the indexing job and the alias re-index.

Only the search service opens Qdrant; the job sends songs with their vectors through the
internal ``/index/*`` routes, which call these functions.
"""

from __future__ import annotations

import math

from services.common.contracts.search import IndexItem, VersionInfo
from services.search.audio import audio_vector
from services.search.enrichment import carry_enrichment
from services.search.storage.base import (
    CollectionMeta,
    DimensionMismatch,
    Upsert,
    point_id,
)
from services.search.storage.store import VectorStore, checked_meta


def ensure_index(store: VectorStore, model_id: str, dim: int) -> CollectionMeta:
    """The active collection for this model, created (as version 1) when there is none yet.

    An index built with another model is refused: that needs the alias re-index, not a resume.
    """
    if store.active_version() is None:
        meta = store.create_version(model_id, dim)
        store.switch_alias(meta.version)
        return meta
    return checked_meta(store, None, model_id, dim)


def upsert_items(store: VectorStore, version: str | None, model_id: str, items: list[IndexItem]) -> int:
    """Store songs with their vectors; enrichment already learned (in this version or the
    active one) is kept, so re-indexing never sends the enricher back to the start."""
    if not items:
        return 0
    meta = checked_meta(store, version, model_id, None)
    for item in items:
        if len(item.vector) != meta.dim:
            raise DimensionMismatch(
                f"track {item.song.track_id}: vector has {len(item.vector)} dimensions, expected {meta.dim}"
            )
        if not all(math.isfinite(x) for x in item.vector) or not any(item.vector):
            raise ValueError(f"track {item.song.track_id}: the vector is zero or not finite")
    ids = [point_id(i.song.track_id) for i in items]
    here = {p.id: p.payload for p in store.retrieve(meta.version, ids)}
    active = store.active_version()
    there = {}
    if active is not None and active != meta.version:
        there = {p.id: p.payload for p in store.retrieve(active, ids)}
    points = []
    for pid, item in zip(ids, items, strict=True):
        payload = item.song.payload() | {"source": item.source}
        if item.import_hash:
            payload["import_hash"] = item.import_hash
        payload = carry_enrichment(payload, here.get(pid), there.get(pid))
        # Collections built before the audio vector existed have no room for it.
        audio = audio_vector(payload) if meta.audio_dim else None
        points.append(Upsert(pid, item.vector, payload, audio))
    store.upsert(meta.version, points)
    return len(points)


def present(store: VectorStore, version: str | None, track_ids: list[str]) -> list[str]:
    """The subset of ``track_ids`` already stored in the version (resume skips them)."""
    found = {p.id for p in store.retrieve(version, [point_id(t) for t in track_ids])}
    return [t for t in track_ids if point_id(t) in found]


def activate(store: VectorStore, version: str, drop_old: bool = True) -> tuple[str | None, list[str]]:
    """Switch the alias to ``version``; then drop every other version (searches never see a gap)."""
    store.meta(version)  # raises VersionNotFound first
    store.optimize(version)  # a new version starts serving with its graph built, never unindexed
    previous = store.switch_alias(version)
    dropped = []
    if drop_old:
        for other in store.versions():
            if other != version:
                store.drop_version(other)
                dropped.append(other)
    return previous, dropped


def version_infos(store: VectorStore) -> list[VersionInfo]:
    active = store.active_version()
    out = []
    for v in store.versions():
        meta = store.meta(v)
        out.append(
            VersionInfo(
                version=v, model_id=meta.model_id, dim=meta.dim, points=store.count(v), active=v == active
            )
        )
    return out
