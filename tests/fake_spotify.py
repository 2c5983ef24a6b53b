"""A fake Spotify: the accounts service (authorize, token) and the Web API calls PixelPlay makes,
served over real HTTP on 127.0.0.1 from a thread of the test process.

Written from Spotify's public documentation (Authorization Code with PKCE flow, Refreshing
tokens, Redirect URIs, Create Playlist, Add/Update Playlist Items, Rate limits, and the February
2026 changes: ``POST /me/playlists`` and ``/playlists/{id}/items``):
- ``GET /authorize`` checks the client id, the redirect URI *exactly* against the registered ones,
  ``response_type=code`` and an S256 challenge, then plays the user: it redirects back with a code
  (``decision = "approve"``) or with ``error=access_denied`` (``"deny"``), always with the state;
- ``POST /api/token`` takes form bodies only; a code is single-use, bound to its redirect URI and
  PKCE challenge; a refresh token is single-use too (rotated on every refresh, as for PKCE clients);
  refusals are 400 ``{"error": "invalid_grant", "error_description"}``;
- the Web API wants a live bearer token (401 ``{"error": {"status", "message"}}`` otherwise), the
  ``playlist-modify-private`` scope for private playlists (403), at most 100 items per request (400),
  and refuses unknown tracks with 400.
Faults are injected per method and path prefix (``fail("POST", "/v1/playlists", 429, retry_after="1")``);
``revoke(user)`` is the user removing the app from their Spotify account.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from tests.fake_server import clear, serving

CLIENT_ID = "pixelplay-test-client"
MAX_ITEMS = 100


@dataclass
class Fault:
    method: str
    path_prefix: str
    status: int
    times: int
    retry_after: str | None = None
    skip: int = 0  # matching requests to let through first


@dataclass
class Playlist:
    id: str
    owner: str
    name: str
    description: str
    public: bool
    items: list[str] = field(default_factory=list)  # track uris in order


@dataclass
class FakeSpotify:
    redirect_uris: set[str]
    client_id: str = CLIENT_ID
    user_id: str = "fake-listener"
    display_name: str = "Fake Listener"
    decision: str = "approve"  # what the user answers on the consent page
    access_lifetime_s: int = 3600
    refused_tracks: set[str] = field(default_factory=set)  # ids Spotify does not know
    url: str = ""
    playlists: dict[str, Playlist] = field(default_factory=dict)
    calls: list[tuple[str, str, float]] = field(default_factory=list)  # (method, path, time)
    _codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _access: dict[str, dict[str, Any]] = field(default_factory=dict)
    _refresh: dict[str, dict[str, Any]] = field(default_factory=dict)
    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- test controls -----------------------------------------------------------------------------
    def fail(
        self,
        method: str,
        path_prefix: str,
        status: int,
        times: int = 1,
        retry_after: str | None = None,
        skip: int = 0,
    ) -> None:
        """Answer ``times`` matching requests, after letting ``skip`` through, with ``status``."""
        with self._lock:
            self._faults.append(Fault(method.upper(), path_prefix, status, times, retry_after, skip))

    def revoke(self, user_id: str | None = None) -> None:
        """The user removes the app in their Spotify account: every token of theirs dies."""
        user = user_id or self.user_id
        with self._lock:
            for store in (self._access, self._refresh):
                for token in [t for t, grant in store.items() if grant["user"] == user]:
                    del store[token]

    def expire_access_tokens(self) -> None:
        with self._lock:
            for grant in self._access.values():
                grant["expires_at"] = 0.0

    def calls_to(self, method: str, path_prefix: str) -> list[tuple[str, str, float]]:
        with self._lock:
            return [c for c in self.calls if c[0] == method and c[1].startswith(path_prefix)]

    def reset(self) -> None:
        records = (self.playlists, self.calls, self._faults, self._codes, self._access, self._refresh)
        clear(self._lock, *records, self.refused_tracks)
        self.decision = "approve"

    # --- internals -----------------------------------------------------------------------------------
    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            self.calls.append((method, path, time.monotonic()))
            for fault in self._faults:
                if fault.method == method and path.startswith(fault.path_prefix) and fault.times > 0:
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.times -= 1
                    return fault
        return None

    def issue_tokens(self, user: str, scope: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self._access[access] = {
            "user": user,
            "scope": scope,
            "expires_at": time.time() + self.access_lifetime_s,
        }
        self._refresh[refresh] = {"user": user, "scope": scope}
        return {
            "access_token": access,
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": self.access_lifetime_s,
            "refresh_token": refresh,
        }


def api_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status)


def grant_error(description: str, error: str = "invalid_grant") -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def create_app(fake: FakeSpotify) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def faults(request: Request, call_next):
        fault = fake.take_fault(request.method, request.url.path)
        if fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            body = {"error": {"status": fault.status, "message": "injected fault"}}
            return JSONResponse(body, status_code=fault.status, headers=headers)
        return await call_next(request)

    @app.get("/authorize")
    def authorize(request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != fake.client_id:
            return HTMLResponse("INVALID_CLIENT: Invalid client", status_code=400)
        redirect_uri = q.get("redirect_uri", "")
        if redirect_uri not in fake.redirect_uris:  # exact string match, as Spotify does
            return HTMLResponse("INVALID_CLIENT: Invalid redirect URI", status_code=400)
        if q.get("response_type") != "code":
            return HTMLResponse("unsupported_response_type", status_code=400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return HTMLResponse("invalid_request: code_challenge required", status_code=400)
        back: dict[str, str] = {}
        if fake.decision == "deny":
            back["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(24)
            with fake._lock:
                fake._codes[code] = {
                    "client_id": fake.client_id,
                    "redirect_uri": redirect_uri,
                    "challenge": q["code_challenge"],
                    "scope": q.get("scope", ""),
                    "user": fake.user_id,
                }
            back["code"] = code
        if q.get("state") is not None:
            back["state"] = q["state"]
        return RedirectResponse(f"{redirect_uri}?{urlencode(back)}", status_code=302)

    @app.post("/api/token")
    async def token(request: Request) -> JSONResponse:
        if request.headers.get("content-type", "").split(";")[0] != "application/x-www-form-urlencoded":
            return grant_error("Content-Type must be application/x-www-form-urlencoded", "invalid_request")
        form = await request.form()
        if form.get("client_id") != fake.client_id:
            return JSONResponse({"error": "invalid_client", "error_description": "Invalid client"}, 400)
        with fake._lock:
            if form.get("grant_type") == "authorization_code":
                grant = fake._codes.pop(str(form.get("code")), None)  # single use, even when refused
                if grant is None:
                    return grant_error("Invalid authorization code")
                if form.get("redirect_uri") != grant["redirect_uri"]:
                    return grant_error("Invalid redirect URI")
                if s256(str(form.get("code_verifier", ""))) != grant["challenge"]:
                    return grant_error("code_verifier was incorrect")
                return JSONResponse(fake.issue_tokens(grant["user"], grant["scope"]))
            if form.get("grant_type") == "refresh_token":
                grant = fake._refresh.pop(str(form.get("refresh_token")), None)
                if grant is None:
                    return grant_error("Refresh token revoked")
                return JSONResponse(fake.issue_tokens(grant["user"], grant["scope"]))
        return grant_error("unsupported grant_type", "unsupported_grant_type")

    def bearer(request: Request) -> dict[str, Any] | JSONResponse:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return api_error(401, "No token provided")
        with fake._lock:
            grant = fake._access.get(header.removeprefix("Bearer "))
        if grant is None:
            return api_error(401, "Invalid access token")
        if grant["expires_at"] <= time.time():
            return api_error(401, "The access token expired")
        return grant

    def editable_playlist(request: Request, playlist_id: str) -> Playlist | JSONResponse:
        """The playlist when the bearer may change it, else Spotify's error answer."""
        grant = bearer(request)
        if isinstance(grant, JSONResponse):
            return grant
        return own_playlist(grant, playlist_id)

    def own_playlist(grant: dict[str, Any], playlist_id: str) -> Playlist | JSONResponse:
        playlist = fake.playlists.get(playlist_id)
        if playlist is None:
            return api_error(404, "Not found.")
        if playlist.owner != grant["user"]:
            return api_error(403, "You cannot edit a playlist you do not own.")
        if "playlist-modify-private" not in grant["scope"].split():
            return api_error(403, "Insufficient client scope")
        return playlist

    def checked_uris(body: dict[str, Any]) -> list[str] | JSONResponse:
        uris = body.get("uris")
        if not isinstance(uris, list):
            return api_error(400, "uris must be a JSON array")
        if len(uris) > MAX_ITEMS:
            return api_error(400, f"You can add a maximum of {MAX_ITEMS} tracks per request.")
        for uri in uris:
            track = str(uri).removeprefix("spotify:track:")
            if not str(uri).startswith("spotify:track:") or len(track) != 22 or track in fake.refused_tracks:
                return api_error(400, f"Invalid track uri: {uri}")
        return uris

    @app.get("/v1/me")
    def me(request: Request) -> Any:
        grant = bearer(request)
        if isinstance(grant, JSONResponse):
            return grant
        return {"id": grant["user"], "display_name": fake.display_name, "type": "user"}

    @app.post("/v1/me/playlists", status_code=201)
    async def create_playlist(request: Request) -> Any:
        grant = bearer(request)
        if isinstance(grant, JSONResponse):
            return grant
        body = await request.json()
        public = bool(body.get("public", True))
        needed = "playlist-modify-public" if public else "playlist-modify-private"
        if needed not in grant["scope"].split():
            return api_error(403, "Insufficient client scope")
        if not body.get("name"):
            return api_error(400, "Missing required field: name")
        playlist_id = secrets.token_hex(11)
        with fake._lock:
            fake.playlists[playlist_id] = Playlist(
                playlist_id, grant["user"], body["name"], body.get("description", ""), public
            )
        return {
            "id": playlist_id,
            "name": body["name"],
            "description": body.get("description", ""),
            "public": public,
            "owner": {"id": grant["user"]},
            "external_urls": {"spotify": f"https://open.spotify.com/playlist/{playlist_id}"},
            "uri": f"spotify:playlist:{playlist_id}",
        }

    @app.put("/v1/playlists/{playlist_id}")
    async def change_details(playlist_id: str, request: Request) -> Any:
        playlist = editable_playlist(request, playlist_id)
        if isinstance(playlist, JSONResponse):
            return playlist
        body = await request.json()
        with fake._lock:
            playlist.name = body.get("name", playlist.name)
            playlist.description = body.get("description", playlist.description)
            playlist.public = bool(body.get("public", playlist.public))
        return Response(status_code=200)

    @app.api_route("/v1/playlists/{playlist_id}/items", methods=["POST", "PUT"])
    async def items(playlist_id: str, request: Request) -> Any:
        playlist = editable_playlist(request, playlist_id)
        if isinstance(playlist, JSONResponse):
            return playlist
        uris = checked_uris(await request.json())
        if isinstance(uris, JSONResponse):
            return uris
        with fake._lock:
            if request.method == "PUT":
                playlist.items = list(uris)
            else:
                playlist.items.extend(uris)
        return JSONResponse(
            {"snapshot_id": secrets.token_hex(8)}, status_code=201 if request.method == "POST" else 200
        )

    return app


@contextmanager
def running_fake_spotify(redirect_uris: set[str]) -> Iterator[FakeSpotify]:
    """Serve a ``FakeSpotify`` on a free 127.0.0.1 port for the duration of the block."""
    fake = FakeSpotify(redirect_uris=set(redirect_uris))
    with serving(create_app(fake), "fake-spotify") as url:
        fake.url = url
        yield fake
