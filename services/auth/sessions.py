"""Login sessions: opaque tokens, stored as SHA-256 digests, with a sliding expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import psycopg

from services.auth.tokens import live_row, new_token, token_digest
from services.auth.users import USER_COLUMNS, UserRecord

# Extending the expiry on every request would write on every request; once a minute is plenty.
TOUCH_INTERVAL = timedelta(minutes=1)
SESSION_COLUMNS = "id, user_id, created_at, last_used_at, expires_at, user_agent, client_ip"


@dataclass(frozen=True)
class SessionRecord:
    id: UUID
    user_id: UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    client_ip: str | None


@dataclass(frozen=True)
class Authenticated:
    """Who a valid token belongs to, and which session it is."""

    user: UserRecord
    session_id: UUID
    expires_at: datetime


def create_session(
    conn: psycopg.Connection,
    user_id: UUID,
    now: datetime,
    lifetime: timedelta,
    user_agent: str | None,
    client_ip: str | None,
) -> tuple[str, SessionRecord]:
    """A new session; the token is returned once and never stored."""
    token = new_token()
    # Housekeeping on a path that is rare compared with reads (indexed on expires_at): drop every
    # dead session, not only this user's, so accounts that never come back do not keep rows forever.
    conn.execute("DELETE FROM sessions WHERE expires_at <= %s", (now,))
    row = conn.execute(
        f"INSERT INTO sessions (user_id, token_hash, created_at, last_used_at, expires_at, user_agent,"
        f" client_ip) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {SESSION_COLUMNS}",
        (user_id, token_digest(token), now, now, now + lifetime, (user_agent or "")[:256] or None, client_ip),
    ).fetchone()
    return token, SessionRecord(**row)


def authenticate(
    conn: psycopg.Connection,
    token: str,
    now: datetime,
    lifetime: timedelta,
    absolute: timedelta | None = None,
) -> Authenticated | None:
    """The session's user when ``token`` is live; slides the expiry forward (sliding sessions), but
    never past ``absolute`` after sign-in, so a stolen token cannot be kept alive for ever."""
    user_columns = ", ".join(f"u.{c}" for c in USER_COLUMNS.split(", "))
    row = live_row(
        conn,
        f"SELECT {user_columns}, s.id AS session_id, s.created_at AS session_created, s.last_used_at,"
        " s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.token_hash = %s AND s.expires_at > %s",
        token,
        now,
    )
    if row is None:
        return None
    session_id, created = row.pop("session_id"), row.pop("session_created")
    last_used, expires_at = row.pop("last_used_at"), row.pop("expires_at")
    if absolute is not None and now >= created + absolute:
        return None
    if now - last_used >= TOUCH_INTERVAL:
        expires_at = now + lifetime
        if absolute is not None:
            expires_at = min(expires_at, created + absolute)
        conn.execute(
            "UPDATE sessions SET last_used_at = %s, expires_at = %s WHERE id = %s",
            (now, expires_at, session_id),
        )
    return Authenticated(UserRecord(**row), session_id, expires_at)


def list_sessions(conn: psycopg.Connection, user_id: UUID, now: datetime) -> list[SessionRecord]:
    """The user's live sessions, most recently used first."""
    rows = conn.execute(
        f"SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = %s AND expires_at > %s"
        " ORDER BY last_used_at DESC, created_at DESC",
        (user_id, now),
    ).fetchall()
    return [SessionRecord(**row) for row in rows]


def revoke_session(conn: psycopg.Connection, user_id: UUID, session_id: UUID) -> bool:
    """Delete one of the user's sessions; False when it is not theirs (or gone)."""
    cur = conn.execute("DELETE FROM sessions WHERE id = %s AND user_id = %s", (session_id, user_id))
    return cur.rowcount == 1


def revoke_all(conn: psycopg.Connection, user_id: UUID, keep: UUID | None = None) -> int:
    """Delete every session of the user except ``keep``; returns how many were revoked."""
    cur = conn.execute("DELETE FROM sessions WHERE user_id = %s AND id IS DISTINCT FROM %s", (user_id, keep))
    return cur.rowcount
