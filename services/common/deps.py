"""FastAPI dependencies every service shares: the settings it runs with and the service-token guard."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from services.common.settings import CommonSettings


def app_settings(request: Request) -> CommonSettings:
    """The settings the app was started with (``app.state.settings``, set in its lifespan).

    Each service's ``deps.py`` types it with its own class:
    ``SettingsDep = Annotated[SearchSettings, Depends(app_settings)]``.
    """
    return request.app.state.settings


def is_service_token(settings: CommonSettings, token: str | None) -> bool:
    """True when ``token`` is the service token, compared in constant time."""
    if not token:
        return False
    return hmac.compare_digest(token.encode(), settings.service_token.get_secret_value().encode())


def require_service_token(
    settings: Annotated[CommonSettings, Depends(app_settings)],
    x_service_token: Annotated[str | None, Header()] = None,
) -> None:
    """Internal routes: 401 without the X-Service-Token header, 403 with a wrong (or empty) one."""
    if x_service_token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "this internal route needs the X-Service-Token header"
        )
    if not is_service_token(settings, x_service_token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "wrong X-Service-Token")


Internal = [Depends(require_service_token)]
