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
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from services.auth.db import UNAVAILABLE_ERRORS, open_database
from services.auth.deps import Clock, system_clock
from services.auth.mailer import make_mailer
from services.auth.passwords import dummy_hash
from services.auth.routes import accounts, history, passwords, sessions, spotify
from services.auth.spotify_access import open_spotify
from services.common.body_limit import BodyLimit
from services.common.observability import configure_logging, instrument
from services.common.settings import Settings, get_settings, refuse_default_secrets

log = logging.getLogger("pixelplay.auth")

DB_UNAVAILABLE = "the account database is unavailable right now; try again in a moment"


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the app; settings are read and the database opened only when it starts (lifespan)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        s = settings or get_settings()
        refuse_default_secrets(s)
        configure_logging("auth", s.log_level, s.log_json)
        app.state.settings = s
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

    app = FastAPI(title="PixelPlay auth", version="1.0", lifespan=lifespan)
    install_body_limit(app)
    instrument(app, "auth")  # added last, so outermost: it also logs and counts the 413s
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
    """Readable 422s that never echo the input (it may be a password), 503 for a down database."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
            for err in exc.errors()
        ]
        readable = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in errors
        )
        return JSONResponse(
            jsonable_encoder({"detail": readable or "invalid request", "errors": errors}),
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

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


def install_body_limit(app: FastAPI) -> None:
    """Refuse bodies larger than auth_max_body_bytes, counted as they arrive (413)."""

    def limit(_path: str) -> int:
        return (getattr(app.state, "settings", None) or get_settings()).auth_max_body_bytes

    app.add_middleware(BodyLimit, limit=limit)


app = create_app()
