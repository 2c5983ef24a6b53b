"""Registrations waiting for e-mail confirmation: the account exists only once the mailed code
comes back, so ``/register`` gives the same answer whether or not an address is already known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from services.auth.tokens import live_row, new_token, token_digest


@dataclass(frozen=True)
class PendingRegistration:
    username: str
    email: str
    password_hash: str


def start_registration(
    conn: psycopg.Connection,
    username: str,
    email: str,
    password_hash: str,
    now: datetime,
    lifetime: timedelta,
) -> str:
    """Store the registration and return its confirmation code (only its digest is stored). A new
    registration for the same address replaces the older one."""
    conn.execute(
        "DELETE FROM pending_registrations WHERE expires_at <= %s OR lower(email) = lower(%s)", (now, email)
    )
    code = new_token()
    conn.execute(
        "INSERT INTO pending_registrations"
        " (username, email, password_hash, code_hash, created_at, expires_at)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (username, email, password_hash, token_digest(code), now, now + lifetime),
    )
    return code


def claim_registration(conn: psycopg.Connection, code: str, now: datetime) -> PendingRegistration | None:
    """Take the live registration behind ``code`` out of the table (once); None when unknown or expired."""
    row = live_row(
        conn,
        "DELETE FROM pending_registrations WHERE code_hash = %s AND expires_at > %s"
        " RETURNING username, email, password_hash",
        code,
        now,
    )
    return PendingRegistration(**row) if row else None
