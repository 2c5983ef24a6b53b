"""What the routes receive: the store, the engine, the encoder and the internal-caller check."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import BackgroundTasks, Depends, Request

from services.common.clients.encoder import EncoderClient
from services.common.contracts.search import SearchPage
from services.common.deps import Internal as Internal  # the routes guard internal endpoints with it
from services.common.deps import app_settings
from services.common.enrich_requests import EnrichRequests
from services.search.engine import SearchEngine
from services.search.settings import SearchSettings
from services.search.storage.store import VectorStore


class EncoderGateway:
    """The encoder as the search service uses it: vectors plus the id of the model that made them.

    The model id comes with every answer (not from a cached ``/info``), so a query vector is always
    checked against the index with the id of the weights that actually produced it.
    """

    def __init__(self, client: EncoderClient):
        self.client = client

    def image_vector(self, data: bytes, filename: str, content_type: str) -> tuple[list[float], str]:
        """One image → (vector, id of the model that made it), as the encoder answered."""
        answer = self.client.image_vector(data, filename, content_type)
        return answer.vector, answer.model_id

    def text_vectors(self, texts: list[str]) -> tuple[list[list[float]], str]:
        """Texts → (vectors, model id); one request (callers send few texts)."""
        answer = self.client.text_vectors(texts)
        return answer.vectors, answer.model_id


def get_store(request: Request) -> VectorStore:
    return request.app.state.store


def get_engine(request: Request) -> SearchEngine:
    return request.app.state.engine


def get_encoder(request: Request) -> EncoderGateway:
    return request.app.state.encoder


PageT = TypeVar("PageT", bound=SearchPage)


class OnScreen:
    """Asks the enricher for a page's songs once the answer has been sent (never slowing it)."""

    def __init__(self, requests: EnrichRequests | None, background: BackgroundTasks):
        self.requests = requests
        self.background = background

    def shown(self, page: PageT) -> PageT:
        if self.requests is not None and page.hits:
            self.background.add_task(self.requests.request_quietly, [hit.song for hit in page.hits])
        return page


def get_on_screen(request: Request, background: BackgroundTasks) -> OnScreen:
    return OnScreen(request.app.state.enrich_requests, background)


SettingsDep = Annotated[SearchSettings, Depends(app_settings)]
StoreDep = Annotated[VectorStore, Depends(get_store)]
EngineDep = Annotated[SearchEngine, Depends(get_engine)]
EncoderDep = Annotated[EncoderGateway, Depends(get_encoder)]
OnScreenDep = Annotated[OnScreen, Depends(get_on_screen)]
