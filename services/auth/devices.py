"""Known browsers ("device cookies", OWASP): proof that a browser signed in to an account before.

A successful sign-in hands out a random token (only its SHA-256 is stored). A later sign-in that
presents it for the same account skips the per-address lock and the slow-down, so an attacker
hammering an account cannot lock its owner out of a browser the owner already uses. The token
proves nothing without the password, and its own failures are counted and locked separately.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import psycopg

from services.auth.tokens import new_token, token_digest


def remember_device(conn: psycopg.Connection, user_id: UUID, now: datetime, lifetime: timedelta) -> str:
    conn.execute("DELETE FROM known_devices WHERE expires_at <= %s", (now,))
    token = new_token()
    conn.execute(
        "INSERT INTO known_devices (token_hash, user_id, created_at, expires_at) VALUES (%s, %s, %s, %s)",
        (token_digest(token), user_id, now, now + lifetime),
    )
    return token


def is_known_device(conn: psycopg.Connection, token: str | None, user_id: UUID, now: datetime) -> bool:
    if not token:
        return False
    row = conn.execute(
        "SELECT 1 FROM known_devices WHERE token_hash = %s AND user_id = %s AND expires_at > %s",
        (token_digest(token), user_id, now),
    ).fetchone()
    return row is not None


def forget_devices(conn: psycopg.Connection, user_id: UUID) -> None:
    """After a password reset: browsers of whoever knew the old password are strangers again."""
    conn.execute("DELETE FROM known_devices WHERE user_id = %s", (user_id,))
