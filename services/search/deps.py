"""What the routes receive: the store, the engine, the encoder and the internal-caller check."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from services.common.clients.encoder import EncoderClient
from services.common.settings import Settings
from services.search.engine import SearchEngine
from services.search.storage.base import VectorStore

MODEL_ID_TTL_S = 30.0  # how long the encoder's model id is trusted before asking again


class EncoderGateway:
    """The encoder as the search service uses it: vectors plus the id of the model that made them."""

    def __init__(self, client: EncoderClient):
        self.client = client
        self._model_id: str | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def model_id(self) -> str | None:
        """The encoder's model id (cached briefly); None when the encoder cannot be asked."""
        with self._lock:
            if self._model_id is None or time.monotonic() - self._checked > MODEL_ID_TTL_S:
                try:
                    self._model_id = self.client.info()["model_id"]
                    self._checked = time.monotonic()
                except Exception:  # noqa: BLE001 - callers treat "unknown" as "do not trust"
                    return None
            return self._model_id

    def require_model_id(self) -> str:
        model_id = self.model_id()
        if model_id is None:
            self.client.info()  # raises ServiceUnavailable / ServiceError with the reason
            raise RuntimeError("encoder /info has no model_id")
        return model_id

    def encode_image(self, data: bytes, filename: str, content_type: str) -> list[float]:
        return self.client.encode_image(data, filename, content_type)

    def encode_texts(self, texts: list[str]) -> list[list[float]]:
        return self.client.encode_texts(texts)


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_store(request: Request) -> VectorStore:
    return request.app.state.store


def get_engine(request: Request) -> SearchEngine:
    return request.app.state.engine


def get_encoder(request: Request) -> EncoderGateway:
    return request.app.state.encoder


def require_service_token(
    settings: Annotated[Settings, Depends(get_settings_dep)],
    x_service_token: Annotated[str | None, Header()] = None,
) -> None:
    """Internal routes: 401 without the X-Service-Token header, 403 with a wrong one."""
    if x_service_token is None:
        raise HTTPException(401, "this internal route needs the X-Service-Token header")
    if not secrets.compare_digest(x_service_token, settings.service_token.get_secret_value()):
        raise HTTPException(403, "wrong X-Service-Token")


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
StoreDep = Annotated[VectorStore, Depends(get_store)]
EngineDep = Annotated[SearchEngine, Depends(get_engine)]
EncoderDep = Annotated[EncoderGateway, Depends(get_encoder)]
Internal = [Depends(require_service_token)]
