"""Fake iTunes Search API and Spotify oEmbed: one real HTTP server on 127.0.0.1 (a thread of the test).

iTunes (``/search``): answers come from ``fixtures/itunes_responses.json`` (recorded-shape
responses) or from a plan:
``server.plan("bohemian", [Step(status=429, retry_after="1"), Step(fixture="bohemian_rhapsody")])``
answers every search whose term contains "bohemian" with those steps in turn (the last one repeats).
Unplanned terms get an empty result. Every call is recorded with its arrival time.

Spotify oEmbed (``/oembed?url=https://open.spotify.com/track/<id>``): every track id gets the
oEmbed object of a real answer, with a ``thumbnail_url`` on i.scdn.co made from the id
(``spotify_thumbnail``), unless ``plan_oembed(track_id, steps)`` says otherwise. A step without a
fixture and with status 200 is that standard answer. Calls are recorded in ``oembed_calls``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from tests.fake_server import clear, serving

FIXTURES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "itunes_responses.json").read_text()
)


@dataclass
class Step:
    """One answer: a fixture (200 JSON), a status with optional Retry-After, raw bytes, or a delay."""

    fixture: str | None = None
    status: int = 200
    retry_after: str | None = None
    body: bytes | None = None  # raw body (garbage) instead of a fixture
    delay_s: float = 0.0  # sleep before answering (slow responses, timeouts)


@dataclass
class Call:
    at: float  # time.time() when the request arrived
    term: str
    params: dict[str, str]
    status: int = 0


def spotify_thumbnail(track_id: str) -> str:
    """The album art URL the fake oEmbed answers for ``track_id`` (the shape Spotify uses)."""
    return f"https://i.scdn.co/image/ab67616d0000b273{hashlib.sha1(track_id.encode()).hexdigest()[:24]}"


def oembed_answer(track_id: str) -> dict[str, Any]:
    """Spotify's oEmbed object for a track, as the real endpoint shapes it."""
    return {
        "html": f'<iframe src="https://open.spotify.com/embed/track/{track_id}" height="152"></iframe>',
        "iframe_url": f"https://open.spotify.com/embed/track/{track_id}",
        "width": 456,
        "height": 152,
        "version": "1.0",
        "provider_name": "Spotify",
        "provider_url": "https://spotify.com",
        "type": "rich",
        "title": f"Track {track_id}",
        "thumbnail_url": spotify_thumbnail(track_id),
        "thumbnail_width": 300,
        "thumbnail_height": 300,
    }


@dataclass
class FakeItunes:
    plans: dict[str, list[Step]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _served: dict[str, int] = field(default_factory=dict)
    url: str = ""
    oembed_url: str = ""
    oembed_plans: dict[str, list[Step]] = field(default_factory=dict)
    oembed_calls: list[Call] = field(default_factory=list)

    def plan_oembed(self, track_id: str, steps: list[Step]) -> None:
        with self._lock:
            self.oembed_plans[track_id] = steps
            self._served[f"oembed:{track_id}"] = 0

    def next_oembed_step(self, track_id: str) -> Step:
        with self._lock:
            steps = self.oembed_plans.get(track_id)
            if not steps:
                return Step()
            key = f"oembed:{track_id}"
            index = min(self._served[key], len(steps) - 1)
            self._served[key] += 1
            return steps[index]

    def oembed_calls_for(self, track_id: str) -> list[Call]:
        with self._lock:
            return [c for c in self.oembed_calls if c.term == track_id]

    def plan(self, term_contains: str, steps: list[Step]) -> None:
        with self._lock:
            self.plans[term_contains.casefold()] = steps
            self._served[term_contains.casefold()] = 0

    def reset(self) -> None:
        clear(self._lock, self.plans, self._served, self.calls, self.oembed_plans, self.oembed_calls)

    def calls_for(self, term_contains: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if term_contains.casefold() in c.term.casefold()]

    def next_step(self, term: str) -> Step:
        with self._lock:
            for key, steps in self.plans.items():
                if key in term.casefold():
                    index = min(self._served[key], len(steps) - 1)
                    self._served[key] += 1
                    return steps[index]
        return Step(fixture="no_results")

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)


# iTunes sends JavaScript-typed JSON; clients must not depend on the content type.
ITUNES_CONTENT_TYPE = "text/javascript; charset=utf-8"


async def answer(step: Step, ok: Callable[[], Any], error: bytes, content_type: str) -> Response:
    """``step``'s answer: its raw body, else ``ok()`` as JSON for a 200, else ``error``."""
    if step.delay_s:
        await asyncio.sleep(step.delay_s)
    if step.body is not None:
        body = step.body
    elif step.status == 200:
        body = json.dumps(ok()).encode()
    else:
        body = error
    headers = {"Retry-After": step.retry_after} if step.retry_after else {}
    return Response(body, status_code=step.status, headers=headers, media_type=content_type)


def create_app(fake: FakeItunes) -> FastAPI:
    app = FastAPI()

    @app.get("/search")
    async def search(request: Request) -> Response:
        arrived = time.time()
        params = dict(request.query_params)
        step = fake.next_step(params.get("term", ""))
        fake.record(Call(at=arrived, term=params.get("term", ""), params=params, status=step.status))
        ok = lambda: FIXTURES[step.fixture or "no_results"]  # noqa: E731
        return await answer(step, ok, b'{"errorMessage":"fake error"}', ITUNES_CONTENT_TYPE)

    @app.get("/oembed")
    async def oembed(request: Request) -> Response:
        arrived = time.time()
        params = dict(request.query_params)
        track_id = params.get("url", "").rstrip("/").rsplit("/", 1)[-1]
        step = fake.next_oembed_step(track_id)
        with fake._lock:
            fake.oembed_calls.append(Call(at=arrived, term=track_id, params=params, status=step.status))
        ok = (lambda: FIXTURES[step.fixture]) if step.fixture else (lambda: oembed_answer(track_id))
        error = b"Not Found" if step.status == 404 else b'{"error":"fake error"}'
        return await answer(step, ok, error, "application/json")

    @app.get("/{path:path}")
    async def anything_else(path: str) -> Response:
        body = b'{"errorMessage":"Invalid request"}'
        return Response(body, status_code=404, media_type=ITUNES_CONTENT_TYPE)

    return app


class FakeItunesServer:
    """Context manager: start the fake on a free port, yield the ``FakeItunes`` state, stop it."""

    def __enter__(self) -> FakeItunes:
        self.fake = FakeItunes()
        self._stack = ExitStack()
        base = self._stack.enter_context(serving(create_app(self.fake), "fake-itunes"))
        self.fake.url = f"{base}/search"
        self.fake.oembed_url = f"{base}/oembed"
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
