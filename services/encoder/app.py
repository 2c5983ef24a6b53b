"""Encoder service: CLIP vectors for uploaded images and for texts (port 8101).

    PYTHONPATH=. uvicorn services.encoder.app:app --port 8101

The model is loaded in the lifespan (a missing model stops start-up with a message naming the
setting to fix); concurrent requests are micro-batched into shared forward passes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import Histogram

from services.common.service_app import service_app, start_service
from services.encoder.batching import MicroBatcher, QueueFull
from services.encoder.deps import EncoderState
from services.encoder.encoding import ClipEncoder, build_encoder
from services.encoder.images import ImageRejected
from services.encoder.model_loading import ModelLoadError
from services.encoder.routes import encode
from services.encoder.settings import EncoderSettings, get_settings

log = logging.getLogger("pixelplay.encoder")

BATCH_SIZE = Histogram(
    "pixelplay_encoder_batch_items",
    "Items per forward pass (micro-batching)",
    ["kind"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
# Multipart framing around the file; a body larger than the image limit plus this is refused unread.
MULTIPART_OVERHEAD = 64 * 1024


def encode_text_requests(encoder: ClipEncoder, requests: list[list[str]]) -> list[np.ndarray]:
    """Several /encode/texts requests in one call (shared de-duplication), split back per request."""
    flat = [text for texts in requests for text in texts]
    vectors = encoder.encode_texts(flat)
    BATCH_SIZE.labels("texts").observe(len(flat))
    bounds = np.cumsum([len(texts) for texts in requests])[:-1]
    return np.split(vectors, bounds)


def encode_image_batch(encoder: ClipEncoder, batch: list[np.ndarray]) -> np.ndarray:
    BATCH_SIZE.labels("images").observe(len(batch))
    return encoder.encode_pixels(batch)


async def start_state(encoder: ClipEncoder, settings: EncoderSettings) -> EncoderState:
    images: MicroBatcher[np.ndarray, np.ndarray] = MicroBatcher(
        lambda batch: encode_image_batch(encoder, batch),
        max_cost=settings.batch_max_size,
        max_wait_ms=settings.batch_max_wait_ms,
        max_queue=settings.max_queue,
        name="images",
    )
    texts: MicroBatcher[list[str], np.ndarray] = MicroBatcher(
        lambda requests: encode_text_requests(encoder, requests),
        # Text requests are weighed by their text count; one full request always fits.
        max_cost=max(settings.max_texts, settings.batch_max_size),
        max_wait_ms=settings.batch_max_wait_ms,
        max_queue=settings.max_queue,
        cost=len,
        name="texts",
    )
    await images.start()
    await texts.start()
    decode_slots = asyncio.Semaphore(max(1, settings.decode_concurrency))
    return EncoderState(encoder=encoder, images=images, texts=texts, decode_slots=decode_slots)


def create_app(settings: EncoderSettings | None = None) -> FastAPI:
    """The app; without ``settings`` they are read from the environment when it starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The encoder holds no secret of its own: it never checks the service token.
        cfg = start_service(app, "encoder", settings or get_settings(), holds_secrets=False)
        try:
            encoder = await asyncio.to_thread(build_encoder, cfg)
        except ModelLoadError as exc:
            log.error("encoder cannot start: %s", exc)
            raise
        state = await start_state(encoder, cfg)
        app.state.encoder = state
        try:
            yield
        finally:
            app.state.encoder = None  # /readyz answers 503 while shutting down
            await state.images.stop()
            await state.texts.stop()

    def image_limit() -> int:
        return (settings or get_settings()).max_image_bytes

    def body_limit(path: str) -> int | None:
        # Counted as the bytes arrive, before Starlette parses (and spools) the multipart body.
        return image_limit() + MULTIPART_OVERHEAD if path == "/encode/image" else None

    def too_large(limit: int) -> str:
        return f"The upload is over {limit:,} bytes; the image limit is {image_limit():,} bytes."

    app = service_app("encoder", lifespan, body_limit=body_limit, too_large=too_large)
    app.state.encoder = None
    app.include_router(encode.router)

    @app.exception_handler(ImageRejected)
    async def image_rejected(_: Request, exc: ImageRejected) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(QueueFull)
    async def queue_full(_: Request, exc: QueueFull) -> JSONResponse:
        return JSONResponse(
            {"detail": f"The encoder is busy ({exc}); retry shortly."},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.get("/readyz", tags=["ops"])
    def readyz(request: Request) -> JSONResponse:
        """200 once the model is loaded and the batchers run, 503 before (and during shutdown)."""
        state: EncoderState | None = request.app.state.encoder
        if state is None:
            return JSONResponse({"status": "loading"}, status_code=503)
        return JSONResponse({"status": "ready", "model_id": state.encoder.model_id})

    return app


app = create_app()
