"""The caller's search history: add, page through (newest first), delete one, clear."""

from __future__ import annotations

import json
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Response, status

from services.auth import history
from services.auth.deps import CurrentAuth, DbDep, NowDep, SettingsDep
from services.auth.settings import AuthSettings
from services.auth.track_ids import check_track_ids
from services.common.contracts.auth import HistoryCleared, HistoryEntry, HistoryIn, HistoryPage

router = APIRouter(prefix="/history", tags=["history"])


def check_sizes(entry: HistoryIn, settings: AuthSettings) -> None:
    """413 for oversized blobs (thumbnail, filters, feedback); 422 for malformed or too many ids."""
    if entry.thumbnail is not None:
        if not entry.thumbnail.startswith("data:image/"):
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "thumbnail must be a data:image/... URL"
            )
        size = len(entry.thumbnail.encode("utf-8"))
        if size > settings.history_max_thumbnail_bytes:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"thumbnail is {size} bytes; at most {settings.history_max_thumbnail_bytes} allowed",
            )
    for name in ("filters", "feedback"):
        value = getattr(entry, name)
        if value is not None and len(json.dumps(value)) > settings.history_max_json_bytes:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"{name} is larger than {settings.history_max_json_bytes} bytes",
            )
    check_track_ids(entry.result_track_ids, settings.history_max_results, "result ids")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=HistoryEntry)
def add(entry: HistoryIn, auth: CurrentAuth, db: DbDep, now: NowDep, settings: SettingsDep) -> HistoryEntry:
    check_sizes(entry, settings)
    with db.connection() as conn:
        row = history.add_entry(conn, auth.user.id, entry.model_dump(), now)
    return HistoryEntry(**row)


@router.get("", response_model=HistoryPage)
def page(
    auth: CurrentAuth,
    db: DbDep,
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> HistoryPage:
    with db.connection() as conn:
        rows, total = history.list_entries(conn, auth.user.id, limit, offset)
    return HistoryPage(items=[HistoryEntry(**r) for r in rows], total=total, offset=offset, limit=limit)


@router.delete("/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_one(entry_id: UUID, auth: CurrentAuth, db: DbDep) -> Response:
    with db.connection() as conn:
        deleted = history.delete_entry(conn, auth.user.id, entry_id)
    if not deleted:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such history entry")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("", response_model=HistoryCleared)
def clear_all(auth: CurrentAuth, db: DbDep) -> HistoryCleared:
    with db.connection() as conn:
        deleted = history.clear(conn, auth.user.id)
    return HistoryCleared(deleted=deleted)
