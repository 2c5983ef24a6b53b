"""Internal routes for the indexing job and the alias re-index (X-Service-Token required).

The job embeds songs through the encoder and sends them here in batches: only this service opens
Qdrant. A re-index creates a new version, fills it, then activates it (alias switch + drop old).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from services.common.contracts.search import (
    Activation,
    IndexPoints,
    IndexPresent,
    IndexStatus,
    TrackIds,
    Upserted,
    VersionInfo,
    VersionRequest,
)
from services.search import indexing, snapshots
from services.search.deps import Internal, StoreDep

MAX_ITEMS = 2000  # songs (or track ids) per request: bounds one request's memory and time
router = APIRouter(prefix="/index", tags=["index"], dependencies=Internal)


def _info(store: StoreDep, version: str) -> VersionInfo:
    meta = store.meta(version)
    return VersionInfo(
        version=meta.version,
        model_id=meta.model_id,
        dim=meta.dim,
        points=store.count(version),
        active=store.active_version() == meta.version,
    )


@router.get("/status", response_model=IndexStatus)
def status(store: StoreDep) -> IndexStatus:
    return IndexStatus(
        alias=store.alias,
        backend=store.backend,
        active=store.active_version(),
        versions=indexing.version_infos(store),
    )


@router.post("/ensure", response_model=VersionInfo)
def ensure(body: VersionRequest, store: StoreDep) -> VersionInfo:
    """The active version for this model, created and activated if the index is empty (409 if the
    index was built with another model: use the re-index)."""
    meta = indexing.ensure_index(store, body.model_id, body.dim)
    return _info(store, meta.version)


@router.post("/versions", response_model=VersionInfo, status_code=201)
def create_version(body: VersionRequest, store: StoreDep) -> VersionInfo:
    """A new empty version; the alias keeps pointing at the old one until it is activated."""
    meta = store.create_version(body.model_id, body.dim)
    return _info(store, meta.version)


@router.post("/points", response_model=Upserted)
def upsert_points(body: IndexPoints, store: StoreDep) -> Upserted:
    if len(body.items) > MAX_ITEMS:
        raise HTTPException(422, f"at most {MAX_ITEMS} items per request")
    try:
        return Upserted(upserted=indexing.upsert_items(store, body.version, body.model_id, body.items))
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/present", response_model=TrackIds)
def present(body: IndexPresent, store: StoreDep) -> TrackIds:
    """Which of these track ids the version already holds (the indexer skips them on resume)."""
    if len(body.track_ids) > MAX_ITEMS:
        raise HTTPException(422, f"at most {MAX_ITEMS} track ids per request")
    return TrackIds(track_ids=indexing.present(store, body.version, body.track_ids))


@router.post("/versions/{version}/optimize", response_model=VersionInfo)
def optimize(version: str, store: StoreDep) -> VersionInfo:
    """Build the version's vector index (HNSW graph, int8 vectors) now that it is filled; blocks
    until done. Searches keep being answered meanwhile."""
    store.optimize(version)
    return _info(store, version)


@router.post("/versions/{version}/activate", response_model=Activation)
def activate(version: str, store: StoreDep, drop_old: bool = True) -> Activation:
    previous, dropped = indexing.activate(store, version, drop_old)
    return Activation(active=version, previous=previous, dropped=dropped)


@router.delete("/versions/{version}", status_code=204)
def drop(version: str, store: StoreDep) -> Response:
    store.meta(version)  # 404 for an unknown version
    try:
        store.drop_version(version)
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    return Response(status_code=204)


def _edge_only(store: StoreDep) -> None:
    if store.backend != "edge":
        raise HTTPException(501, "with a Qdrant server, use its snapshot API (docs/operations.md)")


@router.get("/snapshot", response_class=FileResponse)
def snapshot(store: StoreDep) -> FileResponse:
    """A consistent tar of the embedded index (every version and the alias), for scripts/backup.py."""
    _edge_only(store)
    fd, name = tempfile.mkstemp(suffix=".tar", dir=store.root.parent)
    os.close(fd)
    snapshots.write_snapshot(store, Path(name))
    return FileResponse(name, media_type="application/x-tar", background=BackgroundTask(os.unlink, name))


@router.put("/snapshot", status_code=204)
async def restore(request: Request, store: StoreDep) -> Response:
    """Replace the embedded index with a snapshot from ``GET /index/snapshot`` (scripts/restore.py)."""
    _edge_only(store)
    fd, name = tempfile.mkstemp(suffix=".tar", dir=store.root.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
        await run_in_threadpool(snapshots.restore_snapshot, store, Path(name))
    except snapshots.BadSnapshot as exc:
        raise HTTPException(422, str(exc)) from None
    finally:
        os.unlink(name)
    return Response(status_code=204)
