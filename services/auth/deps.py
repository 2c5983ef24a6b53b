"""FastAPI dependencies: settings, clock, database, client address and the authenticated caller."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.auth.db import Database
from services.auth.mailer import Mailer
from services.auth.sessions import Authenticated, authenticate
from services.auth.settings import AuthSettings
from services.common.deps import app_settings, is_service_token

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def get_clock(request: Request) -> Clock:
    """The app's clock; tests replace ``app.state.clock`` to move time (token expiry)."""
    return request.app.state.clock


def get_now(clock: Annotated[Clock, Depends(get_clock)]) -> datetime:
    return clock()


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_mailer(request: Request) -> Mailer:
    return request.app.state.mailer


SettingsDep = Annotated[AuthSettings, Depends(app_settings)]
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
    return forwarded if forwarded and is_service_token(settings, x_service_token) else peer


def session_lifetimes(settings: AuthSettings) -> tuple[timedelta, timedelta]:
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
