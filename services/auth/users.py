"""User accounts in Postgres. Every function takes an open connection (one transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg
from psycopg import errors

USER_COLUMNS = "id, username, email, password_hash, created_at"


@dataclass(frozen=True)
class UserRecord:
    id: UUID
    username: str
    email: str
    password_hash: str
    created_at: datetime


class AccountTaken(Exception):
    """The username or e-mail is already registered; ``field`` says which."""

    def __init__(self, field: str):
        super().__init__(f"{field} already taken")
        self.field = field


def _record(row: dict | None) -> UserRecord | None:
    return UserRecord(**row) if row else None


def create_user(
    conn: psycopg.Connection, username: str, email: str, password_hash: str, now: datetime
) -> UserRecord:
    """Insert; the unique indexes decide races, so two simultaneous sign-ups give one AccountTaken."""
    try:
        with conn.transaction():  # a savepoint: the failed insert must not poison the caller's tx
            row = conn.execute(
                f"INSERT INTO users (username, email, password_hash, created_at, password_changed_at)"
                f" VALUES (%s, %s, %s, %s, %s) RETURNING {USER_COLUMNS}",
                (username, email, password_hash, now, now),
            ).fetchone()
    except errors.UniqueViolation as exc:
        constraint = exc.diag.constraint_name or ""
        raise AccountTaken("email" if "email" in constraint else "username") from None
    return UserRecord(**row)


def find_by_login(conn: psycopg.Connection, login: str) -> UserRecord | None:
    """By e-mail when ``login`` contains '@' (usernames cannot), else by username; case-insensitive."""
    column = "email" if "@" in login else "username"
    row = conn.execute(
        f"SELECT {USER_COLUMNS} FROM users WHERE lower({column}) = lower(%s)", (login.strip(),)
    ).fetchone()
    return _record(row)


def get_user(conn: psycopg.Connection, user_id: UUID) -> UserRecord | None:
    row = conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE id = %s", (user_id,)).fetchone()
    return _record(row)


def set_password(conn: psycopg.Connection, user_id: UUID, password_hash: str, now: datetime) -> None:
    conn.execute(
        "UPDATE users SET password_hash = %s, password_changed_at = %s WHERE id = %s",
        (password_hash, now, user_id),
    )


def delete_user(conn: psycopg.Connection, user_id: UUID) -> None:
    """Remove the account; sessions, reset tokens, mail and history go with it (ON DELETE CASCADE)."""
    conn.execute("DELETE FROM login_failures WHERE scope = 'account' AND key = %s", (str(user_id),))
    conn.execute("DELETE FROM users WHERE id = %s", (user_id,))
