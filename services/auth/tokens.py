"""Opaque bearer secrets (session and password-reset tokens): only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """A fresh URL-safe token carrying 256 random bits."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    """What the database stores and looks up instead of the token itself.

    A plain SHA-256 is enough (unlike passwords): the token has 256 bits of entropy, so there is
    nothing to brute-force, and a fast hash keeps every authenticated request cheap.
    """
    return hashlib.sha256(token.encode("utf-8")).digest()
