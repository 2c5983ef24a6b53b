"""The parts every service's app has, written once: the body limit, the 422 format, the request
metrics, and the start-up steps of the lifespan."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import Lifespan

from services.common.body_limit import BodyLimit
from services.common.observability import configure_logging, instrument
from services.common.settings import CommonSettings, refuse_default_secrets

SettingsT = TypeVar("SettingsT", bound=CommonSettings)


def service_app(
    service: str,
    lifespan: Lifespan[FastAPI],
    body_limit: Callable[[str], int | None],
    too_large: Callable[[int], str] | None = None,
) -> FastAPI:
    """A FastAPI app for ``service``: request bodies over ``body_limit(path)`` bytes are refused
    (413) as the bytes arrive, invalid requests get readable 422s, and requests are logged and
    counted (outermost, so the 413s are counted too)."""
    app = FastAPI(title=f"PixelPlay {service}", version="1.0", lifespan=lifespan)
    app.add_middleware(BodyLimit, limit=body_limit, detail=too_large)
    instrument(app, service)
    app.add_exception_handler(RequestValidationError, readable_validation_error)
    return app


def start_service(
    app: FastAPI, service: str, settings: SettingsT, *, holds_secrets: bool = True
) -> SettingsT:
    """The first steps of every lifespan: refuse default secrets (``holds_secrets``), configure
    logging, and keep ``settings`` where the dependencies find them."""
    if holds_secrets:
        refuse_default_secrets(settings)
    configure_logging(service, settings.log_level, settings.log_json)
    app.state.settings = settings
    return settings


async def readable_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 with one readable line per problem; the input is never echoed (it may be a password)."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    readable = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in errors)
    return JSONResponse(
        jsonable_encoder({"detail": readable or "invalid request", "errors": errors}),
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )
