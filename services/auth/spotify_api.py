"""Spotify's accounts service (PKCE token exchange and refresh) and the few Web API calls a saved
playlist needs, over httpx. Pure transport: no database, no PixelPlay users.

Faults become typed exceptions the caller turns into messages for people:
- 429: waited out when ``Retry-After`` is at most ``spotify_retry_after_max_s`` (then retried),
  otherwise ``SpotifyRateLimited`` carrying the wait;
- 5xx and connection errors: retried for idempotent calls (GET, PUT), then ``SpotifyUnavailable``.
  A POST that creates something (a playlist, added items) is never repeated after a 5xx, because
  Spotify may have done it anyway and a retry would do it twice;
- 401 from the Web API: ``SpotifyUnauthorized`` (the caller refreshes the token and tries once more);
- 400 ``invalid_grant`` from the accounts service: ``SpotifyGrantRefused`` (code or refresh token
  dead: the user revoked access or must sign in again);
- any other 4xx: ``SpotifyRefused`` with Spotify's message.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from services.auth.settings import AuthSettings

log = logging.getLogger("pixelplay.auth.spotify")

SCOPE = "playlist-modify-private"  # the only scope needed to create and fill a private playlist
MAX_ITEMS_PER_REQUEST = 100  # Spotify's documented limit for adding or replacing playlist items
RETRY_BACKOFF_S = (0.5, 1.0, 2.0)


class SpotifyError(Exception):
    """Spotify did not do what was asked; ``message`` is Spotify's own wording when it gave one."""

    def __init__(self, status: int, message: str, retry_after_s: float | None = None):
        super().__init__(f"Spotify answered {status}: {message}")
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s


class SpotifyRateLimited(SpotifyError):
    """429 with a wait longer than we hold a request open for (``retry_after_s``)."""


class SpotifyUnavailable(SpotifyError):
    """5xx or no answer, after the retries allowed for the call."""


class SpotifyUnauthorized(SpotifyError):
    """The Web API refused the access token (expired or revoked)."""


class SpotifyGrantRefused(SpotifyError):
    """The accounts service refused a code or a refresh token (revoked, expired or reused)."""


class SpotifyRefused(SpotifyError):
    """Any other 4xx: the request itself was refused (e.g. an unknown track id)."""


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_in: int
    scope: str


def code_challenge(verifier: str) -> str:
    """PKCE S256: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(settings: AuthSettings, state: str, verifier: str) -> str:
    """Where the browser goes to sign in to Spotify and grant the one scope."""
    query = {
        "client_id": settings.spotify_client_id,
        "response_type": "code",
        "redirect_uri": settings.spotify_redirect_url,
        "state": state,
        "scope": SCOPE,
        "code_challenge_method": "S256",
        "code_challenge": code_challenge(verifier),
    }
    return f"{settings.spotify_accounts_url.rstrip('/')}/authorize?{urlencode(query)}"


def _message(response: httpx.Response) -> str:
    """Spotify's error text: ``{"error": {"message"}}`` (Web API) or ``error_description`` (accounts)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or response.reason_phrase)
    if isinstance(body, dict) and ("error_description" in body or error):
        return str(body.get("error_description") or error)
    return response.reason_phrase


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


class SpotifyApi:
    """The accounts service and the Web API for one PixelPlay deployment (one client id)."""

    def __init__(
        self,
        settings: AuthSettings,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings = settings
        self.sleep = sleep
        self._http = httpx.Client(timeout=settings.spotify_timeout_s, transport=transport)

    def close(self) -> None:
        self._http.close()

    # --- accounts service ----------------------------------------------------------------------
    def exchange_code(self, code: str, verifier: str) -> TokenSet:
        """The authorization code and its PKCE verifier → tokens (no client secret: a public client)."""
        return self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.settings.spotify_redirect_url,
                "client_id": self.settings.spotify_client_id,
                "code_verifier": verifier,
            },
            previous_refresh=None,
        )

    def refresh(self, refresh_token: str) -> TokenSet:
        """A new access token; Spotify may rotate the refresh token too (PKCE clients: it does)."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.settings.spotify_client_id,
        }
        return self._token_request(form, previous_refresh=refresh_token)

    def _token_request(self, form: dict[str, Any], previous_refresh: str | None) -> TokenSet:
        # Never retried after a 5xx: a rotated refresh token may already be spent, and a code is
        # single-use, so a second try would only turn a temporary fault into "access revoked".
        url = f"{self.settings.spotify_accounts_url.rstrip('/')}/api/token"
        response = self._send("POST", url, idempotent=False, data=form)
        body = response.json()
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token") or previous_refresh or "",
            expires_in=int(body.get("expires_in", 3600)),
            scope=str(body.get("scope", "")),
        )

    # --- Web API ---------------------------------------------------------------------------------
    def me(self, access_token: str) -> dict[str, Any]:
        return self._api("GET", "/me", access_token, idempotent=True).json()

    def create_playlist(self, access_token: str, name: str, description: str) -> dict[str, Any]:
        """A private playlist in the signed-in user's account (``POST /me/playlists``)."""
        body = {"name": name, "description": description, "public": False, "collaborative": False}
        return self._api("POST", "/me/playlists", access_token, idempotent=False, json=body).json()

    def change_details(self, access_token: str, playlist_id: str, name: str, description: str) -> None:
        body = {"name": name, "description": description, "public": False}
        self._api("PUT", f"/playlists/{playlist_id}", access_token, idempotent=True, json=body)

    def add_items(self, access_token: str, playlist_id: str, track_ids: list[str]) -> None:
        """Append up to ``MAX_ITEMS_PER_REQUEST`` tracks, in order."""
        assert len(track_ids) <= MAX_ITEMS_PER_REQUEST
        body = {"uris": [f"spotify:track:{t}" for t in track_ids]}
        self._api("POST", f"/playlists/{playlist_id}/items", access_token, idempotent=False, json=body)

    def clear_items(self, access_token: str, playlist_id: str) -> None:
        """Replace the playlist's items with nothing (the first step of an update)."""
        path = f"/playlists/{playlist_id}/items"
        self._api("PUT", path, access_token, idempotent=True, json={"uris": []})

    def _api(
        self, method: str, path: str, access_token: str, *, idempotent: bool, **kwargs: Any
    ) -> httpx.Response:
        url = f"{self.settings.spotify_api_url.rstrip('/')}{path}"
        headers = {"Authorization": f"Bearer {access_token}"}
        return self._send(method, url, idempotent=idempotent, headers=headers, **kwargs)

    # --- transport -------------------------------------------------------------------------------
    def _send(self, method: str, url: str, *, idempotent: bool, **kwargs: Any) -> httpx.Response:
        tries = max(1, self.settings.spotify_max_tries)
        for attempt in range(1, tries + 1):
            last = attempt == tries
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                # A request that never reached Spotify (connect error) is safe to repeat; one that
                # timed out waiting for an answer may have been done.
                if last or not (idempotent or isinstance(exc, httpx.ConnectError)):
                    raise SpotifyUnavailable(503, f"no answer from Spotify ({type(exc).__name__})") from exc
                self.sleep(RETRY_BACKOFF_S[min(attempt - 1, len(RETRY_BACKOFF_S) - 1)])
                continue
            status = response.status_code
            if status < 400:
                return response
            if status == 429:
                wait = _retry_after(response)
                # A 429 means Spotify did nothing, so even a POST may be repeated.
                if last or wait > self.settings.spotify_retry_after_max_s:
                    raise SpotifyRateLimited(429, _message(response), retry_after_s=wait)
                log.info("Spotify rate limit on %s %s: waiting %.1f s", method, url, wait)
                self.sleep(wait)
                continue
            if status >= 500:
                if last or not idempotent:
                    raise SpotifyUnavailable(status, _message(response))
                self.sleep(RETRY_BACKOFF_S[min(attempt - 1, len(RETRY_BACKOFF_S) - 1)])
                continue
            message = _message(response)
            if status == 401:
                raise SpotifyUnauthorized(status, message)
            if status == 400 and "invalid_grant" in response.text:
                raise SpotifyGrantRefused(status, message)
            raise SpotifyRefused(status, message)
        raise AssertionError("unreachable: the last attempt returns or raises")
