"""Opaque bearer secrets (session and password-reset tokens): only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

import psycopg


def new_token() -> str:
    """A fresh URL-safe token carrying 256 random bits."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    """What the database stores and looks up instead of the token itself.

    A plain SHA-256 is enough (unlike passwords): the token has 256 bits of entropy, so there is
    nothing to brute-force, and a fast hash keeps every authenticated request cheap.
    """
    return hashlib.sha256(token.encode("utf-8")).digest()


def live_row(conn: psycopg.Connection, query: str, token: str, now: datetime) -> dict[str, Any] | None:
    """The row ``query`` finds for a token that is still live: its two parameters are the token's
    digest and ``now``."""
    return conn.execute(query, (token_digest(token), now)).fetchone()
