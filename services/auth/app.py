"""The auth service: accounts, sessions, password recovery and per-user search history.

Run: ``uvicorn services.auth.app:app --host 127.0.0.1 --port 8103`` (DATABASE_URL from the
environment; without it an embedded Postgres is started under data_dir/postgres).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from services.auth.db import UNAVAILABLE_ERRORS, open_database
from services.auth.deps import Clock, system_clock
from services.auth.mailer import make_mailer
from services.auth.passwords import dummy_hash
from services.auth.routes import accounts, history, passwords, sessions, spotify
from services.auth.settings import AuthSettings, get_settings
from services.auth.spotify_access import open_spotify
from services.common.service_app import service_app, start_service

log = logging.getLogger("pixelplay.auth")

DB_UNAVAILABLE = "the account database is unavailable right now; try again in a moment"


def create_app(settings: AuthSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the app; without ``settings`` they are read from the environment when it starts, and
    the database is opened then too (lifespan)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        s = start_service(app, "auth", settings or get_settings())
        app.state.clock = clock or system_clock
        # Before the database: a Spotify set-up without a usable key stops start-up right here.
        app.state.spotify = open_spotify(s)  # None: the feature is off
        app.state.db = await run_in_threadpool(open_database, s)
        app.state.mailer = make_mailer(s, app.state.db)
        app.state.hash_slots = threading.BoundedSemaphore(max(1, s.hash_concurrency))
        # Computed now, not on the first unknown login, which would otherwise take twice as long.
        await run_in_threadpool(dummy_hash, s.bcrypt_rounds)
        log.info("auth service ready (mail via %s)", "SMTP" if s.smtp_host else "local outbox")
        try:
            yield
        finally:
            if app.state.spotify is not None:
                app.state.spotify.api.close()
            await run_in_threadpool(app.state.db.close)

    app = service_app("auth", lifespan, body_limit=lambda _path: (settings or get_settings()).max_body_bytes)
    install_error_handlers(app)
    for module in (accounts, sessions, passwords, history, spotify):
        app.include_router(module.router)

    @app.get("/readyz", tags=["ops"])
    def readyz(request: Request) -> JSONResponse:
        """200 when a pooled connection answers a query within 2 s, else 503."""
        try:
            with request.app.state.db.pool.connection(timeout=2.0) as conn:
                conn.execute("SELECT 1")
        except UNAVAILABLE_ERRORS:
            return JSONResponse({"status": "unavailable", "detail": DB_UNAVAILABLE}, status_code=503)
        return JSONResponse({"status": "ready"})

    return app


def install_error_handlers(app: FastAPI) -> None:
    """503 for a down database, 422 for a value Postgres cannot store."""

    async def database_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable during %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": DB_UNAVAILABLE}, status_code=503, headers={"Retry-After": "5"})

    for error in UNAVAILABLE_ERRORS:
        app.add_exception_handler(error, database_down)

    @app.exception_handler(psycopg.DataError)
    async def unstorable_value(request: Request, exc: psycopg.DataError) -> JSONResponse:
        # Text Postgres cannot hold (NUL characters, also inside JSON) reaches here, not a 500.
        return JSONResponse(
            {"detail": "the request contains characters or values that cannot be stored (e.g. NUL)"},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )


app = create_app()
