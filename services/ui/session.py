"""The browser's session: an HttpOnly cookie set and cleared by two small FastAPI routes
(``routes/session.py``).

The token never reaches page scripts: ``POST /session/login`` asks the auth service for a session
and answers with ``Set-Cookie`` (HttpOnly, SameSite=Lax, Secure over https); Gradio handlers and
any FastAPI route of the UI read it back with :func:`session_token`. ``POST /session/logout``
revokes it and clears the cookie. Both accept JSON only, and refuse a cross-site ``Origin``, so a
form on another site can neither sign a browser in nor out.
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from services.common.contracts.auth import LoginResponse

SESSION_COOKIE = "pixelplay_session"
# The auth service's "known browser" token for this account (see services/auth/devices.py): it
# lets a browser that signed in before through a per-address lock or delay.
DEVICE_COOKIE = "pixelplay_device"
DEVICE_COOKIE_DAYS = 365


class HasCookies(Protocol):
    cookies: Any


def session_token(request: HasCookies | None) -> str | None:
    """The session token the browser sent in its cookie, or None (a FastAPI/Starlette request or a
    ``gr.Request``). It is only what the browser claims: ask the auth service whether it is live."""
    cookies = getattr(request, "cookies", None) if request is not None else None
    token = cookies.get(SESSION_COOKIE) if cookies is not None else None
    return token or None


def device_token(request: HasCookies | None) -> str | None:
    cookies = getattr(request, "cookies", None) if request is not None else None
    token = cookies.get(DEVICE_COOKIE) if cookies is not None else None
    return token or None


def is_https(request: Request) -> bool:
    """True when the browser talks https (directly, or to a trusted proxy that uvicorn's
    ``forwarded_allow_ips`` lets set the scheme): only then may the cookie be marked Secure."""
    return request.url.scheme == "https"


def same_origin(request: Request) -> bool:
    """Requests without an Origin (same-origin GETs, old browsers) pass; a foreign one does not."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


class SignIn(BaseModel):
    """The body of ``POST /session/login``."""

    login: str = Field(max_length=320)
    password: str = Field(max_length=4096)


def refused(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def set_session_cookies(response: Response, answer: LoginResponse, max_age_s: int, secure: bool) -> None:
    """The session cookie (living as long as the session can; auth decides sooner) and, when auth
    gave one, the known-browser cookie."""
    cookie = {"httponly": True, "samesite": "lax", "secure": secure, "path": "/"}
    response.set_cookie(SESSION_COOKIE, answer.token, max_age=max_age_s, **cookie)
    if answer.device_token:
        response.set_cookie(DEVICE_COOKIE, answer.device_token, max_age=DEVICE_COOKIE_DAYS * 86400, **cookie)


def clear_session_cookie(response: Response, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure)


# Run in the browser before the Gradio handler: the password goes to /session/login (never through
# Gradio's queue), and the handler receives the login plus an error sentence ("" on success).
SIGN_IN_JS = """
async (login, password) => {
  try {
    const r = await fetch("session/login", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({login: login || "", password: password || ""}),
    });
    if (r.ok) return [login, ""];
    let detail = "";
    try { detail = (await r.json()).detail || ""; } catch (e) {}
    return [login, detail || ("Sign-in failed (" + r.status + ").")];
  } catch (e) {
    return [login, "The PixelPlay server is not reachable right now. Please try again in a moment."];
  }
}
"""

SIGN_OUT_JS = """
async () => {
  try { await fetch("session/logout", {method: "POST", credentials: "same-origin"}); } catch (e) {}
  return [];
}
"""
