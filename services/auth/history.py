"""Per-user search history. Entries are immutable; listing is newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

HISTORY_COLUMNS = (
    "id, created_at, kind, text, weight, filters, image_fingerprint, thumbnail, source_track_id,"
    " result_track_ids, feedback"
)


def add_entry(conn: psycopg.Connection, user_id: UUID, entry: dict[str, Any], now: datetime) -> dict:
    """Store one search; ``entry`` holds the HistoryIn fields. Returns the stored row."""
    return conn.execute(
        "INSERT INTO search_history (user_id, created_at, kind, text, weight, filters, image_fingerprint,"
        " thumbnail, source_track_id, result_track_ids, feedback)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        f" RETURNING {HISTORY_COLUMNS}",
        (
            user_id,
            now,
            entry["kind"],
            entry.get("text"),
            entry.get("weight"),
            _json(entry.get("filters")),
            entry.get("image_fingerprint"),
            entry.get("thumbnail"),
            entry.get("source_track_id"),
            Jsonb(entry.get("result_track_ids") or []),
            _json(entry.get("feedback")),
        ),
    ).fetchone()


def list_entries(conn: psycopg.Connection, user_id: UUID, limit: int, offset: int) -> tuple[list[dict], int]:
    """One page of the user's history, newest first, and the total number of entries."""
    total = conn.execute("SELECT count(*) AS n FROM search_history WHERE user_id = %s", (user_id,)).fetchone()
    rows = conn.execute(
        f"SELECT {HISTORY_COLUMNS} FROM search_history WHERE user_id = %s"
        " ORDER BY created_at DESC, seq DESC LIMIT %s OFFSET %s",
        (user_id, limit, offset),
    ).fetchall()
    return rows, total["n"]


def delete_entry(conn: psycopg.Connection, user_id: UUID, entry_id: UUID) -> bool:
    """False when the entry does not exist or belongs to someone else."""
    cur = conn.execute("DELETE FROM search_history WHERE id = %s AND user_id = %s", (entry_id, user_id))
    return cur.rowcount == 1


def clear(conn: psycopg.Connection, user_id: UUID) -> int:
    """Delete all of the user's history; returns how many entries went."""
    return conn.execute("DELETE FROM search_history WHERE user_id = %s", (user_id,)).rowcount


def _json(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)
