"""Password-reset tokens: single use, hashed at rest, short-lived."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import psycopg

from services.auth.tokens import live_row, new_token, token_digest

# Bounds the mails one person can make another receive by pressing "forgot" repeatedly.
MAX_LIVE_TOKENS = 3


def issue_reset_token(
    conn: psycopg.Connection, user_id: UUID, now: datetime, lifetime: timedelta
) -> str | None:
    """A new reset token (returned once; only its digest is stored), or None when the user already
    has MAX_LIVE_TOKENS unexpired, unused ones."""
    conn.execute("DELETE FROM password_resets WHERE expires_at <= %s", (now,))
    live = conn.execute(
        "SELECT count(*) AS n FROM password_resets WHERE user_id = %s AND used_at IS NULL", (user_id,)
    ).fetchone()["n"]
    if live >= MAX_LIVE_TOKENS:
        return None
    token = new_token()
    conn.execute(
        "INSERT INTO password_resets (user_id, token_hash, created_at, expires_at) VALUES (%s, %s, %s, %s)",
        (user_id, token_digest(token), now, now + lifetime),
    )
    return token


def claim_reset_token(conn: psycopg.Connection, token: str, now: datetime) -> UUID | None:
    """Lock a live, unused token for this transaction; the user id, or None when not usable.

    The row lock makes two concurrent resets with the same token serialise: the second one sees
    ``used_at`` set once the first commits.
    """
    row = live_row(
        conn,
        "SELECT id, user_id FROM password_resets"
        " WHERE token_hash = %s AND used_at IS NULL AND expires_at > %s FOR UPDATE",
        token,
        now,
    )
    return row["user_id"] if row is not None else None


def spend_reset_tokens(conn: psycopg.Connection, user_id: UUID, now: datetime) -> None:
    """Mark every outstanding token of the user used: one reset ends all pending requests."""
    conn.execute(
        "UPDATE password_resets SET used_at = %s WHERE user_id = %s AND used_at IS NULL", (now, user_id)
    )
