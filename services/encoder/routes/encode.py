"""The encoder's API: which model answers, and vectors for an image or for texts."""

from __future__ import annotations

from fastapi import APIRouter, File, HTTPException, UploadFile
from fastapi.concurrency import run_in_threadpool

from services.common.contracts.encoder import ImageVector, ModelInfo, TextsRequest, TextVectors
from services.encoder.deps import SettingsDep, State
from services.encoder.images import prepare_upload

router = APIRouter(tags=["encoder"])


@router.get("/info", response_model=ModelInfo)
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


@router.post("/encode/image", response_model=ImageVector)
async def encode_image(state: State, settings: SettingsDep, file: UploadFile = File(...)) -> ImageVector:
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
            settings.jpeg_draft,
        )
    vector = await state.images.submit(pixels)
    return ImageVector(vector=vector.tolist(), dim=state.encoder.dim, model_id=state.encoder.model_id)


@router.post("/encode/texts", response_model=TextVectors)
async def encode_texts(body: TextsRequest, state: State, settings: SettingsDep) -> TextVectors:
    """Texts → one unit-length vector each, in order. Texts longer than the model's context
    (77 tokens for CLIP) are truncated by the tokenizer, as CLIP always does."""
    check_texts(body.texts, settings.max_texts, settings.max_text_chars)
    vectors = await state.texts.submit(body.texts)
    return TextVectors(vectors=vectors.tolist(), dim=state.encoder.dim, model_id=state.encoder.model_id)


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
