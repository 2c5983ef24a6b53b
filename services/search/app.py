"""The search service: songs for a photo, a text or a song, over Qdrant (embedded or server).

uvicorn services.search.app:app --port 8102
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry

from services.common.clients.encoder import EncoderClient
from services.common.contracts.search import ENCODER_UNAVAILABLE, Info
from services.common.enrich_requests import EnrichRequests
from services.common.http import ServiceError, ServiceUnavailable
from services.common.rate_limits import calls_per_second
from services.common.service_app import service_app, start_service
from services.search.deps import EncoderGateway, StoreDep
from services.search.engine import SearchEngine, SongNotFound
from services.search.enrichment import UnknownSong
from services.search.explain import Explainer
from services.search.metrics import EnrichmentCollector
from services.search.routes import catalog, index, moodboard, names, search, songs
from services.search.settings import SearchSettings, get_settings
from services.search.storage import open_store
from services.search.storage.base import (
    DimensionMismatch,
    IndexMissing,
    ModelMismatch,
    StorageError,
    VersionNotFound,
)

log = logging.getLogger("pixelplay.search")

# Domain errors → HTTP status; the message is the exception's own text.
ERROR_STATUS: dict[type[Exception], int] = {
    IndexMissing: 503,
    VersionNotFound: 404,
    SongNotFound: 404,
    UnknownSong: 404,
    ModelMismatch: 409,
    DimensionMismatch: 422,
}


def body_limit(path: str, settings: SearchSettings) -> int | None:
    """Bytes a request may send: an image and its form fields, except an index snapshot being
    restored, which is as big as the index. That route checks the service token before it reads
    the body, so only the backup tooling can send that much."""
    return None if path == "/index/snapshot" else settings.max_body_bytes


def create_app(settings: SearchSettings | None = None, encoder: EncoderGateway | None = None) -> FastAPI:
    """The app; ``encoder`` replaces the HTTP encoder (tests of the search logic alone)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cfg = start_service(app, "search", settings or get_settings())
        app.state.store = open_store(cfg)
        gateway = encoder or EncoderGateway(EncoderClient(cfg.encoder_url, settings=cfg))
        app.state.encoder = gateway
        if encoder is None:
            # Explanations are optional: one quick try, no retries, so an encoder outage never slows
            # a search by the retry backoff.
            quick = cfg.model_copy(
                update={"http_retries": 1, "http_timeout_s": min(cfg.http_timeout_s, 10.0)}
            )
            phrases = EncoderGateway(EncoderClient(cfg.encoder_url, settings=quick))
        else:
            phrases = encoder
        explainer = Explainer(cfg.data_dir / "phrase-vectors", phrases.text_vectors)
        app.state.engine = SearchEngine(app.state.store, explainer)
        app.state.enrich_requests = (
            EnrichRequests(cfg.redis_url, cfg.enrich_queue, cfg.enrich_visible_ttl_s)
            if cfg.redis_url and cfg.enrich_on_view
            else None
        )
        app.state.metrics = CollectorRegistry()  # served by /metrics beside the request metrics
        itunes_pace = calls_per_second(cfg.itunes_calls_per_minute, cfg.itunes_rate_window_s)
        app.state.metrics.register(EnrichmentCollector(app.state.store, itunes_pace))
        log.info(
            "search ready: backend=%s alias=%s active=%s",
            app.state.store.backend,
            cfg.collection,
            app.state.store.active_version(),
        )
        try:
            yield
        finally:
            app.state.store.close()
            if app.state.enrich_requests is not None:
                app.state.enrich_requests.close()
            if encoder is None:
                gateway.client.close()
                phrases.client.close()

    app = service_app(
        "search", lifespan, body_limit=lambda path: body_limit(path, settings or get_settings())
    )
    app.include_router(search.router)
    app.include_router(moodboard.router)
    app.include_router(names.router)  # before songs: /songs/names is not a track id
    app.include_router(songs.router)
    app.include_router(index.router)
    app.include_router(catalog.router)
    _add_error_handlers(app)

    @app.get("/info", response_model=Info, tags=["ops"])
    def info(request: Request, store: StoreDep) -> Info:
        cfg = request.app.state.settings
        if store.active_version() is None:
            return Info(collection=cfg.collection, backend=store.backend, points=0, model_id=None, dim=None)
        meta = store.meta()
        return Info(
            collection=cfg.collection,
            backend=store.backend,
            points=store.count(),
            model_id=meta.model_id,
            dim=meta.dim,
            version=meta.version,
        )

    @app.get("/readyz", tags=["ops"])
    def readyz(store: StoreDep) -> JSONResponse:
        """200 once the alias points at a collection (even an empty one), else 503."""
        active = store.active_version()
        if active is None:
            return JSONResponse({"status": "no index yet: run scripts/index_catalog.py"}, status_code=503)
        return JSONResponse({"status": "ready", "version": active, "points": store.count()})

    return app


def _add_error_handlers(app: FastAPI) -> None:
    def domain_error(request: Request, exc: Exception) -> JSONResponse:
        status = next((code for cls, code in ERROR_STATUS.items() if isinstance(exc, cls)), 503)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    def encoder_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        if isinstance(exc, ServiceUnavailable) or exc.status >= 500:
            return JSONResponse({"detail": f"{ENCODER_UNAVAILABLE}: {exc.detail}"}, status_code=503)
        # The encoder refused our upload (bad image, too large...): the caller's mistake, same status.
        return JSONResponse({"detail": f"encoder: {exc.detail}"}, status_code=exc.status)

    def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Storage engine errors (Qdrant, the edge shard) are logged with their trace, never sent.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": "the search index failed to answer; see the search service log"}, status_code=503
        )

    for cls in (*ERROR_STATUS, StorageError):
        app.add_exception_handler(cls, domain_error)
    app.add_exception_handler(ServiceError, encoder_error)
    app.add_exception_handler(Exception, unexpected)


app = create_app()
