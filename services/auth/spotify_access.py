"""A user's Spotify access token, kept fresh: refreshed shortly before it expires, or when the Web
API refuses it, and the connection forgotten when Spotify refuses the refresh token (the user
revoked PixelPlay's access, or it expired)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from cryptography.fernet import MultiFernet

from services.auth.db import Database
from services.auth.settings import AuthSettings
from services.auth.spotify_api import SpotifyApi, SpotifyGrantRefused, SpotifyUnauthorized
from services.auth.spotify_store import (
    Link,
    SpotifyConfigError,
    delete_link,
    load_link,
    make_cipher,
    update_tokens,
)

T = TypeVar("T")

# Refresh a little early, so a token does not expire between our check and Spotify's.
EXPIRY_MARGIN = timedelta(seconds=60)
NOT_CONNECTED = "Spotify is not connected: choose “Connect Spotify” first."
REVOKED = "Spotify access has ended (revoked in Spotify, or expired): connect Spotify again."


class NotConnected(Exception):
    """No usable Spotify connection; ``str(exc)`` says what the user should do."""


@dataclass
class SpotifyAccess:
    """Calls Spotify for one PixelPlay user with a valid access token."""

    db: Database
    cipher: MultiFernet
    api: SpotifyApi
    user_id: UUID
    clock: Callable[[], datetime]
    _token: str | None = field(default=None, repr=False)

    def call(self, request: Callable[[str], T]) -> T:
        """``request(access_token)``; on a refused token, refresh once and repeat."""
        try:
            return request(self._fresh_token())
        except SpotifyUnauthorized:
            token = self._refresh(refused=self._token)
            try:
                return request(token)
            except SpotifyUnauthorized:
                self.forget()
                raise NotConnected(REVOKED) from None

    def forget(self) -> None:
        with self.db.connection() as conn:
            delete_link(conn, self.user_id)

    def _fresh_token(self) -> str:
        if self._token is None:
            with self.db.connection() as conn:
                link = load_link(conn, self.cipher, self.user_id)
            if link is None:
                raise NotConnected(NOT_CONNECTED)
            if self._expiring(link):
                return self._refresh(refused=None)
            self._token = link.access_token
        return self._token

    def _expiring(self, link: Link) -> bool:
        return link.access_expires_at - EXPIRY_MARGIN <= self.clock()

    def _refresh(self, refused: str | None) -> str:
        """Refresh under a row lock: Spotify rotates refresh tokens, so two requests refreshing at
        once would spend the same one and the second would look like a revocation. The second one
        waits and then finds the token the first one stored."""
        revoked = False
        with self.db.connection() as conn:
            link = load_link(conn, self.cipher, self.user_id, for_update=True)
            if link is None:
                raise NotConnected(NOT_CONNECTED)
            if link.access_token != refused and not self._expiring(link):
                self._token = link.access_token  # someone else refreshed it meanwhile
                return self._token
            try:
                tokens = self.api.refresh(link.refresh_token)
            except SpotifyGrantRefused:
                delete_link(conn, self.user_id)
                revoked = True
            else:
                update_tokens(conn, self.cipher, self.user_id, tokens, self.clock())
                self._token = tokens.access_token
        if revoked:  # raised outside the block, so the delete is committed
            raise NotConnected(REVOKED)
        assert self._token is not None
        return self._token


@dataclass(frozen=True)
class SpotifyFeature:
    """What the Spotify routes need; the app holds one when the operator enabled the feature."""

    api: SpotifyApi
    cipher: MultiFernet


def open_spotify(settings: AuthSettings) -> SpotifyFeature | None:
    """None without a client id (the feature is off); raises ``SpotifyConfigError`` when a client id
    is set without a redirect URL or a usable encryption key, so auth does not start half set up."""
    if not settings.spotify_client_id:
        return None
    if not settings.spotify_redirect_url:
        raise SpotifyConfigError(
            "PIXELPLAY_AUTH_SPOTIFY_REDIRECT_URL must be set with PIXELPLAY_AUTH_SPOTIFY_CLIENT_ID "
            "(docs/spotify.md)"
        )
    return SpotifyFeature(SpotifyApi(settings), make_cipher(settings))
