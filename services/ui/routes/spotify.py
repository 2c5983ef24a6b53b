"""The two browser routes of Spotify's sign-in: ``/spotify/connect`` and the redirect URL's path.

Connecting is two plain browser navigations, so no token ever reaches page scripts: the first asks
auth for a sign-in bound to the browser's session (read from its session cookie) and redirects to
Spotify; Spotify redirects back to the second, which hands ``state`` and ``code`` to auth with the
same session and returns to the page with ``?spotify=<outcome>``, shown by the bar.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from services.common.contracts.spotify import ConnectFinish
from services.common.http import ServiceError
from services.ui.deps import AuthDep
from services.ui.session import session_token
from services.ui.spotify_lists import outcome_for


def make_router(redirect_url: str | None) -> APIRouter:
    """``/spotify/connect`` and the redirect URL's path (from the ``spotify_redirect_url`` setting),
    which is known only once the settings are: hence a router made per app."""
    router = APIRouter(tags=["spotify"])
    callback_path = urlsplit(redirect_url).path if redirect_url else "/spotify/callback"

    def back_to_page(request: Request, outcome: str) -> RedirectResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return RedirectResponse(f"{root}/?spotify={outcome}", status_code=303)

    @router.get("/spotify/connect")
    def connect(request: Request, auth: AuthDep) -> RedirectResponse:
        """Start a sign-in bound to this browser's session and send the browser to Spotify."""
        if request.headers.get("sec-fetch-site") == "cross-site":
            # Only a click on this page starts a sign-in, never a link or image on another site.
            return back_to_page(request, "refused")
        token = session_token(request)
        if not token:
            return back_to_page(request, "signin")
        try:
            start = auth.spotify_connect(token)
        except ServiceError as exc:
            return back_to_page(request, outcome_for(exc))
        return RedirectResponse(start.authorize_url, status_code=303)

    @router.get(callback_path)
    def callback(request: Request, auth: AuthDep) -> RedirectResponse:
        """Where Spotify sends the browser back: finish the sign-in with this browser's session."""
        token = session_token(request)
        if not token:
            return back_to_page(request, "signin")
        query = request.query_params
        try:
            answer = ConnectFinish(
                state=query.get("state", ""), code=query.get("code"), error=query.get("error")
            )
        except ValidationError:
            return back_to_page(request, "refused")
        # A refusal goes to auth too: it uses the started sign-in up (and refuses a forged one).
        try:
            auth.spotify_callback(token, answer)
        except ServiceError as exc:
            return back_to_page(request, outcome_for(exc))
        return back_to_page(request, "connected")

    return router
