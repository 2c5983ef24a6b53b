"""The caller's Spotify connection and "Save to Spotify".

Connecting is Spotify's Authorization Code flow with PKCE, run by this service for the UI: the
UI asks ``POST /spotify/connect`` for the URL to send the browser to, Spotify sends the browser
back to the UI's redirect URL, and the UI hands ``state`` and ``code`` to ``POST /spotify/callback``
with the same session's token. The state and the PKCE verifier are stored for that session only,
so a callback carrying someone else's (or a made-up) state is refused.
"""

from __future__ import annotations

import logging
import math
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from services.auth.deps import CurrentAuth, DbDep, NowDep, SettingsDep, get_clock
from services.auth.spotify_access import NotConnected, SpotifyAccess, SpotifyFeature
from services.auth.spotify_api import (
    SCOPE,
    SpotifyError,
    SpotifyGrantRefused,
    SpotifyRateLimited,
    authorize_url,
)
from services.auth.spotify_playlists import PlaylistSaver, problem_text
from services.auth.spotify_store import delete_link, load_link, save_link, start_connect, take_connect
from services.auth.track_ids import check_track_ids
from services.common.contracts.spotify import (
    ConnectFinish,
    ConnectStart,
    SavedPlaylist,
    SaveRequest,
    SaveResult,
    SpotifyStatus,
)

log = logging.getLogger("pixelplay.auth.spotify")
router = APIRouter(prefix="/spotify", tags=["spotify"])

DISABLED = (
    "Saving to Spotify is not enabled on this server: an operator sets PIXELPLAY_AUTH_SPOTIFY_CLIENT_ID, "
    "PIXELPLAY_AUTH_SPOTIFY_REDIRECT_URL and PIXELPLAY_AUTH_SPOTIFY_TOKEN_KEY (see docs/spotify.md)."
)
UNKNOWN_STATE = (
    "This Spotify sign-in was not started from your current PixelPlay session, or it expired or was "
    "already used. Choose “Connect Spotify” again."
)
DENIED = "You chose not to give PixelPlay access to your Spotify account, so nothing was connected."


def spotify_feature(request: Request) -> SpotifyFeature:
    feature = request.app.state.spotify
    if feature is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, DISABLED)
    return feature


FeatureDep = Annotated[SpotifyFeature, Depends(spotify_feature)]


def spotify_failure(exc: SpotifyError | NotConnected) -> HTTPException:
    """A fault before anything was saved: 429 (with Retry-After), 403 (not connected) or 502."""
    log.warning("Spotify request not done: %s", exc)
    if isinstance(exc, SpotifyRateLimited):
        wait = math.ceil(exc.retry_after_s or 1)
        return HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, problem_text(exc), headers={"Retry-After": str(wait)}
        )
    if isinstance(exc, NotConnected):
        return HTTPException(status.HTTP_403_FORBIDDEN, str(exc))
    return HTTPException(status.HTTP_502_BAD_GATEWAY, problem_text(exc))


@router.get("", response_model=SpotifyStatus)
def connection(auth: CurrentAuth, db: DbDep, request: Request) -> SpotifyStatus:
    """Whether the feature is on and whether the caller's Spotify account is connected."""
    feature: SpotifyFeature | None = request.app.state.spotify
    if feature is None:
        return SpotifyStatus(enabled=False)
    with db.connection() as conn:
        link = load_link(conn, feature.cipher, auth.user.id)
    if link is None:
        return SpotifyStatus(enabled=True)
    return SpotifyStatus(
        enabled=True,
        connected=True,
        display_name=link.display_name,
        spotify_user_id=link.spotify_user_id,
        connected_at=link.connected_at,
    )


@router.post("/connect", response_model=ConnectStart)
def connect(
    auth: CurrentAuth, db: DbDep, now: NowDep, settings: SettingsDep, feature: FeatureDep
) -> ConnectStart:
    """Start a sign-in bound to this session: a fresh state and PKCE verifier (kept encrypted)."""
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]: within PKCE's 43-128
    with db.connection() as conn:
        expires_at = start_connect(
            conn, feature.cipher, auth.session_id, auth.user.id, state, verifier, now,
            lifetime=timedelta(minutes=settings.spotify_connect_minutes),
        )  # fmt: skip
    return ConnectStart(authorize_url=authorize_url(settings, state, verifier), expires_at=expires_at)


@router.post("/callback", response_model=SpotifyStatus)
def callback(
    body: ConnectFinish, auth: CurrentAuth, db: DbDep, now: NowDep, feature: FeatureDep
) -> SpotifyStatus:
    """Finish the sign-in: check the state belongs to this session, then trade the code for tokens."""
    with db.connection() as conn:
        verifier = take_connect(conn, feature.cipher, auth.session_id, body.state, now)
    if verifier is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, UNKNOWN_STATE)
    if body.error:
        if body.error == "access_denied":
            raise HTTPException(status.HTTP_403_FORBIDDEN, DENIED)
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"Spotify did not connect ({body.error}); try again."
        )
    if not body.code:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "code: Spotify's answer carries no code")
    try:
        tokens = feature.api.exchange_code(body.code, verifier)
        if SCOPE not in tokens.scope.split():
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"Spotify granted '{tokens.scope}' but saving playlists needs '{SCOPE}'; connect again.",
            )
        profile = feature.api.me(tokens.access_token)
    except SpotifyGrantRefused as exc:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "Spotify did not accept this sign-in (it expired); connect again."
        ) from exc
    except SpotifyError as exc:
        raise spotify_failure(exc) from exc
    with db.connection() as conn:
        save_link(conn, feature.cipher, auth.user.id, tokens, profile, now)
    return SpotifyStatus(
        enabled=True,
        connected=True,
        display_name=profile.get("display_name"),
        spotify_user_id=profile.get("id"),
        connected_at=now,
    )


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def disconnect(auth: CurrentAuth, db: DbDep, feature: FeatureDep) -> Response:
    """Forget the caller's Spotify tokens (204 also when none were stored).

    Spotify offers no endpoint to revoke a token; once deleted here PixelPlay can no longer use
    it, and the user can also remove the app at spotify.com/account/apps.
    """
    with db.connection() as conn:
        delete_link(conn, auth.user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/playlists", response_model=SaveResult)
def save(
    body: SaveRequest,
    auth: CurrentAuth,
    db: DbDep,
    settings: SettingsDep,
    feature: FeatureDep,
    clock=Depends(get_clock),
) -> SaveResult:
    """Save a list of track ids as a private playlist; see ``SaveResult`` for the outcomes."""
    check_track_ids(body.track_ids, settings.spotify_max_tracks, "track ids")
    access = SpotifyAccess(db, feature.cipher, feature.api, auth.user.id, clock)
    try:
        outcome = PlaylistSaver(db, access, auth.user.id).save(
            body.name, body.description, body.track_ids, body.on_existing
        )
    except (SpotifyError, NotConnected) as exc:
        raise spotify_failure(exc) from exc
    playlist = outcome.playlist
    return SaveResult(
        status=outcome.status,
        playlist=SavedPlaylist(
            id=playlist.playlist_id, name=playlist.name, url=playlist.url, total=playlist.total,
            added=playlist.added, saved_at=playlist.saved_at,
        ) if playlist else None,
        total=outcome.total,
        added=outcome.added,
        rejected=outcome.rejected,
        problem=outcome.problem,
        retry_after_s=outcome.retry_after_s,
        replaced_missing=outcome.replaced_missing,
    )  # fmt: skip
