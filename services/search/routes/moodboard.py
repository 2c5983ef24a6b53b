"""Moodboard routes: 2-6 photos in, one playlist out; and the same playlist again from its vector."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from pydantic import ValidationError

from services.common.contracts.search import (
    MAX_PHOTOS,
    MIN_PHOTOS,
    Jumps,
    MoodboardPage,
    MoodboardVectorQuery,
    Order,
    Page,
    RejectedPhoto,
)
from services.common.http import ServiceError, ServiceUnavailable
from services.search.deps import EncoderDep, EngineDep, OnScreenDep, SettingsDep
from services.search.engine import SearchEngine
from services.search.filters import FilterError, parse_filters
from services.search.moodboard import combine, mean_jump, order_songs
from services.search.routes.search import _messages, check_limit

router = APIRouter(tags=["search"])


def playlist(
    engine: SearchEngine, vector: list[float], page: Page, order: Order, model_id: str | None
) -> MoodboardPage:
    """The ranked list for the combined vector, then ordered; one page, no "load more"."""
    ranked = engine.by_vector(vector, page, model_id)
    songs = [hit.song for hit in ranked.hits]
    hits = order_songs(ranked.hits, songs, order)
    jumps = Jumps(ranked=mean_jump(songs), ordered=mean_jump([hit.song for hit in hits]))
    fields = ranked.model_dump() | {"hits": hits, "next_offset": None}
    return MoodboardPage(**fields, order=order, photos_used=0, jumps=jumps)


@router.post("/search/moodboard", response_model=MoodboardPage)
def search_moodboard(
    on_screen: OnScreenDep,
    engine: EngineDep,
    encoder: EncoderDep,
    settings: SettingsDep,
    files: Annotated[
        list[UploadFile], File(description=f"{MIN_PHOTOS}-{MAX_PHOTOS} JPG, PNG, WebP, GIF or HEIC photos")
    ],
    order: Annotated[Order, Form()] = "ranked",
    filters: Annotated[str | None, Form(description="JSON of the Filters object")] = None,
    limit: Annotated[int, Form()] = 20,
    diversity: Annotated[str, Form()] = "artist",
) -> MoodboardPage:
    """One playlist that fits several photos together. Each photo is checked like a single upload;
    a bad one is named in ``rejected`` and the others still count (422 when none is usable)."""
    if not MIN_PHOTOS <= len(files) <= MAX_PHOTOS:
        raise HTTPException(422, f"a moodboard takes {MIN_PHOTOS} to {MAX_PHOTOS} photos, got {len(files)}")
    try:
        page = Page(filters=parse_filters(filters), limit=limit, offset=0, diversity=diversity)
    except FilterError as exc:
        raise HTTPException(422, str(exc)) from None
    except ValidationError as exc:
        raise HTTPException(422, _messages(exc)) from None
    check_limit(page, settings)
    vectors, rejected, models = [], [], set()
    for index, upload in enumerate(files):
        name = upload.filename or f"photo {index + 1}"
        data = upload.file.read(settings.max_image_bytes + 1)
        if not data:
            rejected.append(RejectedPhoto(index=index, filename=name, reason="the file is empty"))
            continue
        if len(data) > settings.max_image_bytes:
            reason = f"the image is larger than {settings.max_image_bytes} bytes"
            rejected.append(RejectedPhoto(index=index, filename=name, reason=reason))
            continue
        try:
            vector, model_id = encoder.image_vector(
                data, name, upload.content_type or "application/octet-stream"
            )
        except ServiceError as exc:
            if isinstance(exc, ServiceUnavailable) or exc.status >= 500:
                raise  # the encoder is down: the whole request fails with 503
            rejected.append(RejectedPhoto(index=index, filename=name, reason=exc.detail))
            continue
        vectors.append(vector)
        models.add(model_id)
    if not vectors:
        named = "; ".join(f"{r.filename}: {r.reason}" for r in rejected)
        raise HTTPException(422, f"none of the photos could be used ({named})")
    if len(models) > 1:
        raise HTTPException(503, "the encoder changed models during this request; try again")
    try:
        query = combine(vectors)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    answer = playlist(engine, query, page, order, models.pop())
    answer.photos_used, answer.rejected = len(vectors), rejected
    return on_screen.shown(answer)


@router.post("/search/moodboard/vector", response_model=MoodboardPage)
def moodboard_again(
    on_screen: OnScreenDep, body: MoodboardVectorQuery, engine: EngineDep, settings: SettingsDep
) -> MoodboardPage:
    """A stored moodboard (its combined ``vector``) as a playlist again, in any order."""
    check_limit(body, settings)
    page = Page(filters=body.filters, limit=body.limit, offset=0, diversity=body.diversity)
    try:
        return on_screen.shown(playlist(engine, body.vector, page, body.order, body.model_id))
    except ValueError as exc:  # zero or non-finite vector
        raise HTTPException(422, str(exc)) from None
