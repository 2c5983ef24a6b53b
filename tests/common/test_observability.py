"""Metrics, request ids and JSON logs shared by every HTTP service."""

from __future__ import annotations

import importlib
import json
import logging

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.common.http import ServiceClient
from services.common.observability import REQUEST_ID_HEADER, JsonFormatter, instrument


def make_app() -> FastAPI:
    app = FastAPI()
    instrument(app, "demo")

    @app.get("/hello/{name}")
    def hello(name: str) -> dict[str, str]:
        return {"hello": name}

    return app


def test_metrics_count_requests_by_route_template():
    client = TestClient(make_app())
    for name in ("a", "b"):
        assert client.get(f"/hello/{name}").status_code == 200
    text = client.get("/metrics").text
    line = next(
        ln
        for ln in text.splitlines()
        if ln.startswith("pixelplay_http_requests_total{") and 'service="demo"' in ln and "{name}" in ln
    )
    assert float(line.rsplit(" ", 1)[1]) >= 2
    assert "pixelplay_http_request_seconds_bucket{" in text


def test_request_id_is_echoed_or_created():
    client = TestClient(make_app())
    echoed = client.get("/healthz", headers={REQUEST_ID_HEADER: "abc123"})
    assert echoed.headers[REQUEST_ID_HEADER] == "abc123"
    assert len(client.get("/healthz").headers[REQUEST_ID_HEADER]) == 32


def test_request_id_flows_to_the_next_service_and_into_json_logs(caplog):
    """A service handling request X calls another service: the outgoing call carries X."""
    seen: list[str | None] = []
    downstream = httpx.MockTransport(
        lambda req: (seen.append(req.headers.get(REQUEST_ID_HEADER)), httpx.Response(200, json={}))[1]
    )
    app = make_app()

    @app.get("/calls-downstream")
    def calls() -> dict:
        ServiceClient("http://downstream", transport=downstream).get_json("/x")
        logging.getLogger("pixelplay.test").info("called downstream")
        return {}

    with caplog.at_level(logging.INFO):
        TestClient(app).get("/calls-downstream", headers={REQUEST_ID_HEADER: "rid-42"})
    assert seen == ["rid-42"]
    record = next(r for r in caplog.records if r.getMessage() == "called downstream")
    # Formatted later, outside the request, the line still names the request it came from.
    line = json.loads(JsonFormatter("demo").format(record))
    assert (line["service"], line["request_id"], line["msg"]) == ("demo", "rid-42", "called downstream")


@pytest.mark.parametrize("module", ["services.encoder.app", "services.search.app", "services.auth.app"])
def test_every_api_service_serves_metrics_and_health(module):
    """Building the app loads nothing heavy (that happens in the lifespan), so routes can be read."""
    app = importlib.import_module(module).create_app()
    paths = {getattr(route, "path", None) for route in app.routes}
    assert {"/metrics", "/healthz", "/readyz"} <= paths
