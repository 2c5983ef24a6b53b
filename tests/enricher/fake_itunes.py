"""A fake iTunes Search API: a real HTTP server on 127.0.0.1 (in a thread of the test process).

Answers come from ``fixtures/itunes_responses.json`` (recorded-shape responses) or from a plan:
``server.plan("bohemian", [Step(status=429, retry_after="1"), Step(fixture="bohemian_rhapsody")])``
answers every search whose term contains "bohemian" with those steps in turn (the last one repeats).
Unplanned terms get an empty result. Every call is recorded with its arrival time.
"""

from __future__ import annotations

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


@dataclass
class FakeItunes:
    plans: dict[str, list[Step]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _served: dict[str, int] = field(default_factory=dict)
    url: str = ""

    def plan(self, term_contains: str, steps: list[Step]) -> None:
        with self._lock:
            self.plans[term_contains.casefold()] = steps
            self._served[term_contains.casefold()] = 0

    def reset(self) -> None:
        with self._lock:
            self.plans.clear()
            self._served.clear()
            self.calls.clear()

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

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                # iTunes sends JavaScript-typed JSON; clients must not depend on the content type.
                self.send_header("Content-Type", "text/javascript; charset=utf-8")
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
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self.thread.start()
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
