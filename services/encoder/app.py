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
from fastapi import FastAPI, File, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import Histogram

from services.common.body_limit import BodyLimit
from services.common.observability import configure_logging, instrument
from services.common.settings import get_settings
from services.encoder.batching import MicroBatcher, QueueFull
from services.encoder.deps import AppSettings, EncoderState, State
from services.encoder.encoding import ClipEncoder, build_encoder
from services.encoder.images import ImageRejected, prepare_upload
from services.encoder.model_loading import ModelLoadError
from services.encoder.schemas import ImageVector, ModelInfo, TextsRequest, TextVectors

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


async def start_state(encoder: ClipEncoder, settings) -> EncoderState:
    images: MicroBatcher[np.ndarray, np.ndarray] = MicroBatcher(
        lambda batch: encode_image_batch(encoder, batch),
        max_cost=settings.batch_max_size,
        max_wait_ms=settings.batch_max_wait_ms,
        max_queue=settings.encoder_max_queue,
        name="images",
    )
    texts: MicroBatcher[list[str], np.ndarray] = MicroBatcher(
        lambda requests: encode_text_requests(encoder, requests),
        # Text requests are weighed by their text count; one full request always fits.
        max_cost=max(settings.max_texts, settings.batch_max_size),
        max_wait_ms=settings.batch_max_wait_ms,
        max_queue=settings.encoder_max_queue,
        cost=len,
        name="texts",
    )
    await images.start()
    await texts.start()
    decode_slots = asyncio.Semaphore(max(1, settings.encoder_decode_concurrency))
    return EncoderState(encoder=encoder, images=images, texts=texts, decode_slots=decode_slots)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging("encoder", settings.log_level, settings.log_json)
    try:
        encoder = await asyncio.to_thread(build_encoder, settings)
    except ModelLoadError as exc:
        log.error("encoder cannot start: %s", exc)
        raise
    state = await start_state(encoder, settings)
    app.state.encoder = state
    try:
        yield
    finally:
        app.state.encoder = None  # /readyz answers 503 while shutting down
        await state.images.stop()
        await state.texts.stop()


def create_app() -> FastAPI:
    app = FastAPI(title="PixelPlay encoder", version="1.0", lifespan=lifespan)
    app.state.encoder = None

    def body_limit(path: str) -> int | None:
        # Counted as the bytes arrive, before Starlette parses (and spools) the multipart body.
        return get_settings().max_image_bytes + MULTIPART_OVERHEAD if path == "/encode/image" else None

    def too_large(limit: int) -> str:
        image_limit = get_settings().max_image_bytes
        return f"The upload is over {limit:,} bytes; the image limit is {image_limit:,} bytes."

    app.add_middleware(BodyLimit, limit=body_limit, detail=too_large)
    instrument(app, "encoder")  # added last, so outermost: it also counts the 413s

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

    @app.get("/info", response_model=ModelInfo, tags=["encoder"])
    def info(state: State) -> ModelInfo:
        """Which weights answer: the UI shows a demo banner when ``is_pretrained`` is false."""
        clip = state.encoder.clip
        return ModelInfo(
            model=clip.model_name,
            pretrained=clip.pretrained,
            checkpoint=clip.checkpoint,
            is_pretrained=clip.is_pretrained,
            dim=state.encoder.dim,
            model_id=clip.model_id,
            runtime=state.encoder.runtime,
        )

    @app.post("/encode/image", response_model=ImageVector, tags=["encoder"])
    async def encode_image(state: State, settings: AppSettings, file: UploadFile = File(...)) -> ImageVector:
        """One JPEG/PNG/WebP upload (multipart field ``file``) → its unit-length vector."""
        data = await file.read(settings.max_image_bytes + 1)  # one byte more tells "too big" apart

        # Decoding runs per request (its errors are that request's 4xx), outside the shared batch,
        # a few at a time: a decoded 40-MP image takes ~160 MB, so eight at once could swap.
        async with state.decode_slots:
            pixels = await run_in_threadpool(
                prepare_upload,
                data,
                state.encoder.clip.preprocess,
                settings.max_image_bytes,
                settings.max_image_pixels,
                settings.encoder_jpeg_draft,
            )
        vector = await state.images.submit(pixels)
        return ImageVector(vector=vector.tolist(), dim=state.encoder.dim, model_id=state.encoder.model_id)

    @app.post("/encode/texts", response_model=TextVectors, tags=["encoder"])
    async def encode_texts(body: TextsRequest, state: State, settings: AppSettings) -> TextVectors:
        """Texts → one unit-length vector each, in order. Texts longer than the model's context
        (77 tokens for CLIP) are truncated by the tokenizer, as CLIP always does."""
        check_texts(body.texts, settings.max_texts, settings.max_text_chars)
        vectors = await state.texts.submit(body.texts)
        return TextVectors(vectors=vectors.tolist(), dim=state.encoder.dim, model_id=state.encoder.model_id)

    return app


def check_texts(texts: list[str], max_texts: int, max_chars: int) -> None:
    """422 with a message naming the offending text, before any work is queued."""
    if not texts:
        raise HTTPException(422, "texts is empty: send at least one text.")
    if len(texts) > max_texts:
        raise HTTPException(422, f"{len(texts)} texts sent; at most {max_texts} per request.")
    for i, text in enumerate(texts):
        if not text.strip():
            raise HTTPException(422, f"texts[{i}] is empty.")
        if len(text) > max_chars:
            raise HTTPException(422, f"texts[{i}] has {len(text):,} characters; the limit is {max_chars:,}.")


app = create_app()
