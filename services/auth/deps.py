"""FastAPI dependencies: settings, clock, database, client address and the authenticated caller."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.auth.db import Database
from services.auth.mailer import Mailer
from services.auth.sessions import Authenticated, authenticate
from services.common.settings import Settings

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_clock(request: Request) -> Clock:
    """The app's clock; tests replace ``app.state.clock`` to move time (token expiry)."""
    return request.app.state.clock


def get_now(clock: Annotated[Clock, Depends(get_clock)]) -> datetime:
    return clock()


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_mailer(request: Request) -> Mailer:
    return request.app.state.mailer


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
NowDep = Annotated[datetime, Depends(get_now)]
DbDep = Annotated[Database, Depends(get_db)]
MailerDep = Annotated[Mailer, Depends(get_mailer)]


def client_address(
    request: Request, settings: SettingsDep, x_service_token: Annotated[str | None, Header()] = None
) -> str:
    """The caller's address: the TCP peer, or the X-Forwarded-For the UI sends for its browser.

    The header is believed only together with the service token: anyone else who can reach the
    service could otherwise pick a fresh address for every guess and escape the throttle. The UI
    sends exactly one address (the browser's, as its own trusted-proxy setting resolved it).
    """
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for", "").split(",")[-1].strip()
    if not forwarded or not x_service_token:
        return peer
    expected = settings.service_token.get_secret_value().encode()
    return forwarded if hmac.compare_digest(x_service_token.encode(), expected) else peer


def session_lifetimes(settings: Settings) -> tuple[timedelta, timedelta]:
    """(sliding, absolute) session lifetimes."""
    return timedelta(days=settings.session_days), timedelta(days=settings.session_absolute_days)


AddressDep = Annotated[str, Depends(client_address)]

_bearer = HTTPBearer(auto_error=False)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def session_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or not credentials.credentials:
        raise _unauthorized("not signed in: send 'Authorization: Bearer <token>'")
    return credentials.credentials


def current_auth(
    token: Annotated[str, Depends(session_token)], db: DbDep, now: NowDep, settings: SettingsDep
) -> Authenticated:
    """The caller's session; 401 when the token is unknown, revoked or expired."""
    with db.connection() as conn:
        auth = authenticate(conn, token, now, *session_lifetimes(settings))
    if auth is None:
        raise _unauthorized("session expired or revoked: sign in again")
    return auth


CurrentAuth = Annotated[Authenticated, Depends(current_auth)]


def require_service_token(
    settings: SettingsDep, x_service_token: Annotated[str | None, Header()] = None
) -> None:
    """Internal endpoints: 401 without X-Service-Token, 403 with a wrong one."""
    if not x_service_token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "X-Service-Token header required")
    expected = settings.service_token.get_secret_value().encode()
    if not hmac.compare_digest(x_service_token.encode(), expected):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid service token")
