"""A request body limit that counts the bytes actually received, as an ASGI middleware.

A ``Content-Length`` above the limit is refused before anything is read. Without one (chunked
transfer) or with one that lies, the bytes are counted as they arrive and the request is answered
413 as soon as they pass the limit: nothing is buffered or spooled to disk beyond it.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """``app.add_middleware(BodyLimit, limit=lambda path: N)``: ``limit`` gives the byte limit for
    a request path (``None`` for no limit); ``detail`` words the 413 for a limit."""

    def __init__(
        self, app: ASGIApp, limit: Callable[[str], int | None], detail: Callable[[int], str] | None = None
    ):
        self.app = app
        self.limit = limit
        self.detail = detail or (lambda n: f"request body too large (at most {n} bytes)")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send, self.detail(limit))
            return
        received = 0
        exceeded = False
        started = False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:  # the app answered the interrupted read (e.g. FastAPI's 400): ours wins
                return
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _too_large(send, self.detail(limit))


async def _too_large(send: Send, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            # close: otherwise the server reads (and discards) the rest of the body to keep the
            # connection alive, which is the very work this limit exists to refuse.
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
