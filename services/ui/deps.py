"""What the UI's routes receive: the settings it runs with and the context of service clients."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.common.clients.auth import AuthClient
from services.common.clients.search import SearchClient
from services.common.deps import app_settings
from services.ui.context import Context
from services.ui.settings import UISettings


def get_context(request: Request) -> Context:
    return request.app.state.context


def get_auth(request: Request) -> AuthClient:
    return get_context(request).auth


def get_search(request: Request) -> SearchClient:
    return get_context(request).search


SettingsDep = Annotated[UISettings, Depends(app_settings)]
ContextDep = Annotated[Context, Depends(get_context)]
AuthDep = Annotated[AuthClient, Depends(get_auth)]
SearchDep = Annotated[SearchClient, Depends(get_search)]
