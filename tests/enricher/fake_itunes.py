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

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

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
        with self._lock:
            self.plans.clear()
            self._served.clear()
            self.calls.clear()
            self.oembed_plans.clear()
            self.oembed_calls.clear()

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


def _handler(fake: FakeItunes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            arrived = time.time()
            parsed = urlparse(self.path)
            params = {k: v[0] for k, v in parse_qs(parsed.query).items()}
            if parsed.path == "/oembed":
                self._oembed(arrived, params)
                return
            if parsed.path != "/search":
                self._send(404, b'{"errorMessage":"Invalid request"}')
                return
            step = fake.next_step(params.get("term", ""))
            fake.record(Call(at=arrived, term=params.get("term", ""), params=params, status=step.status))
            if step.delay_s:
                time.sleep(step.delay_s)
            if step.body is not None:
                body = step.body
            elif step.status == 200:
                body = json.dumps(FIXTURES[step.fixture or "no_results"]).encode()
            else:
                body = b'{"errorMessage":"fake error"}'
            headers = {"Retry-After": step.retry_after} if step.retry_after else {}
            self._send(step.status, body, headers)

        def _oembed(self, arrived: float, params: dict[str, str]) -> None:
            track_id = params.get("url", "").rstrip("/").rsplit("/", 1)[-1]
            step = fake.next_oembed_step(track_id)
            with fake._lock:
                fake.oembed_calls.append(Call(at=arrived, term=track_id, params=params, status=step.status))
            if step.delay_s:
                time.sleep(step.delay_s)
            if step.body is not None:
                body = step.body
            elif step.status == 200:
                body = json.dumps(
                    FIXTURES[step.fixture] if step.fixture else oembed_answer(track_id)
                ).encode()
            else:
                body = b"Not Found" if step.status == 404 else b'{"error":"fake error"}'
            headers = {"Retry-After": step.retry_after} if step.retry_after else {}
            self._send(step.status, body, headers, content_type="application/json")

        def _send(
            self,
            status: int,
            body: bytes,
            headers: dict[str, str] | None = None,
            # iTunes sends JavaScript-typed JSON; clients must not depend on the content type.
            content_type: str = "text/javascript; charset=utf-8",
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and went away: exactly what a slow step tests

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


class FakeItunesServer:
    """Context manager: start the fake on a free port, yield the ``FakeItunes`` state, stop it."""

    def __enter__(self) -> FakeItunes:
        self.fake = FakeItunes()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.fake))
        self.httpd.daemon_threads = True
        self.fake.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/search"
        self.fake.oembed_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/oembed"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self.thread.start()
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
