"""What auth keeps about a user's Spotify: started sign-ins, the encrypted tokens, saved lists.

Secrets (tokens, PKCE verifiers) are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from the
``cryptography`` package) under ``spotify_token_key``; several comma-separated keys form a
MultiFernet, so an operator can rotate keys without signing everyone out of Spotify.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import psycopg
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from services.auth.settings import AuthSettings
from services.auth.spotify_api import TokenSet
from services.auth.tokens import token_digest

KEY_HELP = (
    'make one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


class SpotifyConfigError(RuntimeError):
    """The Spotify feature is half configured (no redirect URL, or no usable encryption key)."""


def make_cipher(settings: AuthSettings) -> MultiFernet:
    """The cipher for stored Spotify secrets; raises ``SpotifyConfigError`` naming the setting."""
    raw = settings.spotify_token_key.get_secret_value() if settings.spotify_token_key else ""
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if not keys:
        raise SpotifyConfigError(
            f"PIXELPLAY_AUTH_SPOTIFY_TOKEN_KEY must be set with the client id; {KEY_HELP}"
        )
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as exc:
        message = f"PIXELPLAY_AUTH_SPOTIFY_TOKEN_KEY is not a Fernet key ({exc}); {KEY_HELP}"
        raise SpotifyConfigError(message) from exc


@dataclass(frozen=True)
class Link:
    """A connected Spotify account, decrypted."""

    user_id: UUID
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    scope: str
    spotify_user_id: str | None
    display_name: str | None
    connected_at: datetime


@dataclass(frozen=True)
class SavedList:
    playlist_id: str
    name: str
    url: str | None
    total: int
    added: int
    saved_at: datetime


# --- sign-in requests ------------------------------------------------------------------------------
def start_connect(
    conn: psycopg.Connection,
    cipher: MultiFernet,
    session_id: UUID,
    user_id: UUID,
    state: str,
    verifier: str,
    now: datetime,
    lifetime: timedelta,
) -> datetime:
    """Remember a started sign-in for this session; returns when it expires."""
    conn.execute("DELETE FROM spotify_connect_requests WHERE expires_at <= %s", (now,))
    expires_at = now + lifetime
    conn.execute(
        "INSERT INTO spotify_connect_requests (state_hash, session_id, user_id, verifier_enc, created_at,"
        " expires_at) VALUES (%s, %s, %s, %s, %s, %s)",
        (token_digest(state), session_id, user_id, cipher.encrypt(verifier.encode()), now, expires_at),
    )
    return expires_at


def take_connect(
    conn: psycopg.Connection, cipher: MultiFernet, session_id: UUID, state: str, now: datetime
) -> str | None:
    """The PKCE verifier of a live sign-in started by this very session, used up by this call;
    None for a state that is unknown, expired, already used, or another session's."""
    row = conn.execute(
        "DELETE FROM spotify_connect_requests WHERE state_hash = %s AND session_id = %s"
        " RETURNING verifier_enc, expires_at",
        (token_digest(state), session_id),
    ).fetchone()
    if row is None or row["expires_at"] <= now:
        return None
    return cipher.decrypt(bytes(row["verifier_enc"])).decode()


# --- tokens ------------------------------------------------------------------------------------------
def _seal(cipher: MultiFernet, tokens: TokenSet) -> bytes:
    return cipher.encrypt(
        json.dumps({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}).encode()
    )


def save_link(
    conn: psycopg.Connection,
    cipher: MultiFernet,
    user_id: UUID,
    tokens: TokenSet,
    profile: dict,
    now: datetime,
) -> None:
    """Store (or replace) the user's Spotify connection after a completed sign-in."""
    conn.execute(
        "INSERT INTO spotify_links (user_id, tokens_enc, access_expires_at, scope, spotify_user_id,"
        " display_name, connected_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (user_id) DO UPDATE SET tokens_enc = EXCLUDED.tokens_enc,"
        " access_expires_at = EXCLUDED.access_expires_at, scope = EXCLUDED.scope,"
        " spotify_user_id = EXCLUDED.spotify_user_id, display_name = EXCLUDED.display_name,"
        " connected_at = EXCLUDED.connected_at, refreshed_at = NULL",
        (
            user_id,
            _seal(cipher, tokens),
            now + timedelta(seconds=tokens.expires_in),
            tokens.scope,
            profile.get("id"),
            profile.get("display_name"),
            now,
        ),
    )
    # A different Spotify account may be connected now: its playlists are not the old ones.
    conn.execute("DELETE FROM spotify_saved_playlists WHERE user_id = %s", (user_id,))


def load_link(
    conn: psycopg.Connection, cipher: MultiFernet, user_id: UUID, for_update: bool = False
) -> Link | None:
    """The user's connection, decrypted; None when not connected (or stored under a lost key)."""
    row = conn.execute(
        "SELECT user_id, tokens_enc, access_expires_at, scope, spotify_user_id, display_name, connected_at"
        " FROM spotify_links WHERE user_id = %s" + (" FOR UPDATE" if for_update else ""),
        (user_id,),
    ).fetchone()
    if row is None:
        return None
    try:
        secret = json.loads(cipher.decrypt(bytes(row.pop("tokens_enc"))))
    except InvalidToken:
        # Encrypted under a key that is no longer configured: as good as disconnected.
        return None
    return Link(access_token=secret["access_token"], refresh_token=secret["refresh_token"], **row)


def update_tokens(
    conn: psycopg.Connection, cipher: MultiFernet, user_id: UUID, tokens: TokenSet, now: datetime
) -> None:
    conn.execute(
        "UPDATE spotify_links SET tokens_enc = %s, access_expires_at = %s, refreshed_at = %s"
        " WHERE user_id = %s",
        (_seal(cipher, tokens), now + timedelta(seconds=tokens.expires_in), now, user_id),
    )


def delete_link(conn: psycopg.Connection, user_id: UUID) -> bool:
    """Forget the user's Spotify connection, pending sign-ins and saved lists; False when none."""
    deleted = conn.execute("DELETE FROM spotify_links WHERE user_id = %s", (user_id,)).rowcount
    conn.execute("DELETE FROM spotify_connect_requests WHERE user_id = %s", (user_id,))
    conn.execute("DELETE FROM spotify_saved_playlists WHERE user_id = %s", (user_id,))
    return deleted == 1


# --- saved lists ---------------------------------------------------------------------------------------
def list_key(track_ids: list[str]) -> bytes:
    """The identity of a list for "saved before?": its track ids, order ignored."""
    return hashlib.sha256("\n".join(sorted(set(track_ids))).encode()).digest()


def find_saved(conn: psycopg.Connection, user_id: UUID, key: bytes) -> SavedList | None:
    row = conn.execute(
        "SELECT playlist_id, name, url, total, added, saved_at FROM spotify_saved_playlists"
        " WHERE user_id = %s AND list_key = %s",
        (user_id, key),
    ).fetchone()
    return SavedList(**row) if row else None


def record_saved(conn: psycopg.Connection, user_id: UUID, key: bytes, saved: SavedList) -> None:
    """Remember the playlist a list went into (the newest one, when saved as new again)."""
    conn.execute(
        "INSERT INTO spotify_saved_playlists"
        " (user_id, list_key, playlist_id, name, url, total, added, saved_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (user_id, list_key) DO UPDATE SET"
        " playlist_id = EXCLUDED.playlist_id, name = EXCLUDED.name, url = EXCLUDED.url,"
        " total = EXCLUDED.total, added = EXCLUDED.added, saved_at = EXCLUDED.saved_at",
        (user_id, key, saved.playlist_id, saved.name, saved.url, saved.total, saved.added, saved.saved_at),
    )
