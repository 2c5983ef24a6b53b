"""``POST /session/login`` and ``POST /session/logout``: the page's sign-in and sign-out buttons
set and clear the HttpOnly session cookie here (``session.py`` holds the cookie helpers)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from services.ui import session as cookies
from services.ui.deps import ContextDep
from services.ui.errors import plain_message

log = logging.getLogger("pixelplay.ui")

router = APIRouter(prefix="/session", tags=["session"])


@router.post("/login")
def login(body: cookies.SignIn, request: Request, ctx: ContextDep) -> Response:
    if not cookies.same_origin(request):
        return cookies.refused(403, "cross-site sign-in refused")
    if not body.login.strip() or not body.password:
        return cookies.refused(422, "Enter your username or email and your password.")
    address = request.client.host if request.client else None
    try:
        answer = ctx.auth.login(body.login.strip(), body.password, address, cookies.device_token(request))
    except Exception as exc:  # noqa: BLE001 - shown to the user in plain words
        status = getattr(exc, "status", 503)
        message = plain_message(exc)
        if status == 401:
            message = getattr(exc, "detail", "") or "Wrong username, email or password."
        return cookies.refused(status if 400 <= status < 600 else 503, message)
    response = JSONResponse({"user": answer.user.model_dump(mode="json")})
    cookies.set_session_cookies(response, answer, ctx.limits.session_max_age_s, cookies.is_https(request))
    return response


@router.post("/logout")
def logout(request: Request, ctx: ContextDep) -> Response:
    if not cookies.same_origin(request):
        return cookies.refused(403, "cross-site sign-out refused")
    token = cookies.session_token(request)
    if token:
        try:
            ctx.auth.logout(token)
        except Exception as exc:  # noqa: BLE001 - the cookie goes either way
            log.info("logout failed (session already gone?): %s", exc)
    response = Response(status_code=204)
    cookies.clear_session_cookie(response, cookies.is_https(request))
    return response
