"""The one check of a list of track ids sent to auth (history results, a playlist to save)."""

from __future__ import annotations

from fastapi import HTTPException, status

MAX_TRACK_ID_CHARS = 64


def check_track_ids(ids: list[str], limit: int, noun: str) -> None:
    """422 when there are more than ``limit`` ids or one is empty or longer than 64 characters."""
    if len(ids) > limit:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{len(ids)} {noun}; at most {limit} allowed"
        )
    if any(not tid or len(tid) > MAX_TRACK_ID_CHARS for tid in ids):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{noun} must be 1-{MAX_TRACK_ID_CHARS} characters"
        )
