"""What every HTTP service shares for operations: JSON logs, a request id that flows across
services, Prometheus metrics on ``/metrics`` and health endpoints.

Call ``instrument(app, "search")`` once when building a FastAPI app.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
import uuid

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

REQUEST_ID_HEADER = "X-Request-ID"
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

REQUESTS = Counter("pixelplay_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
LATENCY = Histogram(
    "pixelplay_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> contextvars.Token:
    """For non-HTTP work (Celery tasks, scripts) that should log under a request id."""
    return _request_id.set(value)


def _stamp_request_ids() -> None:
    """Give every log record the request id of the context it was created in (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "stamps_request_id", False):
        return

    def record_with_request_id(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = _request_id.get()
        return record

    record_with_request_id.stamps_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record_with_request_id)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if (rid := getattr(record, "request_id", None)) is not None:
            entry["request_id"] = rid
        for key in ("method", "path", "status", "ms"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(service: str, level: str = "INFO", as_json: bool = True) -> None:
    _stamp_request_ids()
    handler = logging.StreamHandler(sys.stderr)
    if as_json:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def instrument(app: FastAPI, service: str) -> None:
    """Add request ids, access logs, metrics and ``/metrics`` + ``/healthz`` to ``app``."""
    _stamp_request_ids()
    access = logging.getLogger(f"pixelplay.{service}.access")

    @app.middleware("http")
    async def observe(request: Request, call_next):
        rid = request.headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
        token = _request_id.set(rid)
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers[REQUEST_ID_HEADER] = rid
            return response
        finally:
            elapsed = time.perf_counter() - start
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            if path != "/metrics":
                REQUESTS.labels(service, request.method, path, str(status)).inc()
                LATENCY.labels(service, request.method, path).observe(elapsed)
                access.info(
                    "%s %s %s %.1f ms",
                    request.method,
                    request.url.path,
                    status,
                    elapsed * 1000,
                    extra={
                        "method": request.method,
                        "path": request.url.path,
                        "status": status,
                        "ms": round(elapsed * 1000, 1),
                    },
                )
            _request_id.reset(token)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        body = generate_latest()
        # An app may add its own collectors in a registry at app.state.metrics (per app, so apps
        # sharing a process, as in tests, never report each other's figures).
        if (own := getattr(request.app.state, "metrics", None)) is not None:
            body += generate_latest(own)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers. Readiness is each service's own ``/readyz``."""
        return {"status": "ok", "service": service}
