"""``POST /session/login`` and ``POST /session/logout``: the page's sign-in and sign-out buttons
set and clear the HttpOnly session cookie here (``session.py`` holds the cookie helpers)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from services.ui.deps import ContextDep
from services.ui.errors import plain_message
from services.ui.session import (
    DEVICE_COOKIE,
    DEVICE_COOKIE_DAYS,
    SESSION_COOKIE,
    SignIn,
    device_token,
    is_https,
    refused,
    same_origin,
    session_token,
)

log = logging.getLogger("pixelplay.ui")

router = APIRouter(prefix="/session", tags=["session"])


@router.post("/login")
def login(body: SignIn, request: Request, ctx: ContextDep) -> Response:
    if not same_origin(request):
        return refused(403, "cross-site sign-in refused")
    if not body.login.strip() or not body.password:
        return refused(422, "Enter your username or email and your password.")
    address = request.client.host if request.client else None
    try:
        answer = ctx.auth.login(body.login.strip(), body.password, address, device_token(request))
    except Exception as exc:  # noqa: BLE001 - shown to the user in plain words
        status = getattr(exc, "status", 503)
        message = plain_message(exc)
        if status == 401:
            message = getattr(exc, "detail", "") or "Wrong username, email or password."
        return refused(status if 400 <= status < 600 else 503, message)
    response = JSONResponse({"user": answer.user.model_dump(mode="json")})
    secure = is_https(request)
    # The cookie may live as long as the session can (absolute lifetime); auth decides sooner.
    response.set_cookie(
        SESSION_COOKIE,
        answer.token,
        max_age=ctx.limits.session_max_age_s,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    if answer.device_token:
        response.set_cookie(
            DEVICE_COOKIE,
            answer.device_token,
            max_age=DEVICE_COOKIE_DAYS * 86400,
            httponly=True,
            samesite="lax",
            secure=secure,
            path="/",
        )
    return response


@router.post("/logout")
def logout(request: Request, ctx: ContextDep) -> Response:
    if not same_origin(request):
        return refused(403, "cross-site sign-out refused")
    token = session_token(request)
    if token:
        try:
            ctx.auth.logout(token)
        except Exception as exc:  # noqa: BLE001 - the cookie goes either way
            log.info("logout failed (session already gone?): %s", exc)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))
    return response
