"""Public search routes: image, text, hybrid, raw vector, similar-to-song, and the filter options."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from pydantic import ValidationError

from services.common.contracts.search import (
    DEFAULT_TEXT_WEIGHT,
    FeedbackQuery,
    FilterOptions,
    Page,
    SearchPage,
    SimilarQuery,
    TextQuery,
    VectorQuery,
)
from services.search.deps import EncoderDep, EngineDep, OnScreenDep, SettingsDep, StoreDep
from services.search.engine import filter_options
from services.search.filters import FilterError, parse_filters
from services.search.vectors import blend

router = APIRouter(tags=["search"])


def check_limit(page: Page, settings: SettingsDep) -> None:
    """The page size cap lives in the settings, so it is checked here rather than in the schema."""
    if page.limit > (cap := settings.max_page_size):
        raise HTTPException(422, f"limit {page.limit} is above the maximum page size ({cap})")


@router.post("/search/image", response_model=SearchPage)
def search_image(
    on_screen: OnScreenDep,
    engine: EngineDep,
    encoder: EncoderDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="JPG, PNG, WebP, GIF or HEIC")],
    text: Annotated[str | None, Form(max_length=1000)] = None,
    weight: Annotated[float, Form(ge=0.0, le=1.0)] = DEFAULT_TEXT_WEIGHT,
    filters: Annotated[str | None, Form(description="JSON of the Filters object")] = None,
    limit: Annotated[int, Form()] = 20,
    offset: Annotated[int, Form()] = 0,
    diversity: Annotated[str, Form()] = "artist",
) -> SearchPage:
    """A photo (optionally refined by text, ``weight`` = the text's share) → matching songs."""
    try:
        page = Page(filters=parse_filters(filters), limit=limit, offset=offset, diversity=diversity)
    except FilterError as exc:
        raise HTTPException(422, str(exc)) from None
    except ValidationError as exc:
        raise HTTPException(422, _messages(exc)) from None
    check_limit(page, settings)
    data = file.file.read(settings.max_image_bytes + 1)
    if not data:
        raise HTTPException(422, "the uploaded file is empty")
    if len(data) > settings.max_image_bytes:
        raise HTTPException(413, f"the image is larger than {settings.max_image_bytes} bytes")
    content_type = file.content_type or "application/octet-stream"
    image_vec, model_id = encoder.image_vector(data, file.filename or "image", content_type)
    text = (text or "").strip()
    if text and weight > 0:
        [text_vec], text_model = encoder.text_vectors([text])
        if text_model != model_id:  # the encoder was swapped between the two calls
            raise HTTPException(503, "the encoder changed models during this request; try again")
        try:
            query = blend(image_vec, text_vec, weight)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
    else:
        query = image_vec
    return on_screen.shown(engine.by_vector(query, page, model_id))


@router.post("/search/text", response_model=SearchPage)
def search_text(
    on_screen: OnScreenDep, body: TextQuery, engine: EngineDep, encoder: EncoderDep, settings: SettingsDep
) -> SearchPage:
    """A mood in words → songs whose CLIP text vector is nearest."""
    check_limit(body, settings)
    if not body.text.strip():
        raise HTTPException(422, "text is blank")
    [vector], model_id = encoder.text_vectors([body.text.strip()])
    return on_screen.shown(engine.by_vector(vector, body, model_id))


@router.post("/search/vector", response_model=SearchPage)
def search_vector(
    on_screen: OnScreenDep, body: VectorQuery, engine: EngineDep, settings: SettingsDep
) -> SearchPage:
    """A query vector from an earlier page (``query_vector``) → the same ranking at any offset."""
    return _ranked(on_screen, body, settings, lambda: engine.by_vector(body.vector, body, body.model_id))


@router.post("/search/similar", response_model=SearchPage)
def search_similar(
    on_screen: OnScreenDep, body: SimilarQuery, engine: EngineDep, settings: SettingsDep
) -> SearchPage:
    """Songs like one song (never that song itself), optionally away from some others: by its
    description and, with ``audio_weight`` (default: the setting), by how it sounds."""
    check_limit(body, settings)
    weight = settings.similar_audio_weight if body.audio_weight is None else body.audio_weight
    return on_screen.shown(engine.similar_to(body.track_id, body.negative_track_ids, body, weight))


@router.post("/search/feedback", response_model=SearchPage)
def search_feedback(
    on_screen: OnScreenDep, body: FeedbackQuery, engine: EngineDep, settings: SettingsDep
) -> SearchPage:
    """A page's query vector refined by thumbs up / down; down-only feedback works too."""
    return _ranked(
        on_screen,
        body,
        settings,
        lambda: engine.from_feedback(
            body.vector, body.positive_track_ids, body.negative_track_ids, body, body.model_id
        ),
    )


def _ranked(
    on_screen: OnScreenDep, body: Page, settings: SettingsDep, rank: Callable[[], SearchPage]
) -> SearchPage:
    """A page ranked from a vector the caller sent: a zero or non-finite vector, or a song rated
    both ways, is the caller's mistake (422)."""
    check_limit(body, settings)
    try:
        page = rank()
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return on_screen.shown(page)


_filter_cache: dict[tuple[int, str | None, int], FilterOptions] = {}


@router.get("/filters", response_model=FilterOptions)
def filters(store: StoreDep) -> FilterOptions:
    """Every genre in the index and the year range, for the UI's filter controls.

    Reading them scrolls every payload, so the answer is kept until the version or its size changes.
    """
    active = store.active_version()
    key = (id(store), active, store.count() if active else 0)
    if key not in _filter_cache:
        genres, year_min, year_max, sources = filter_options(store)
        _filter_cache.clear()
        _filter_cache[key] = FilterOptions(
            genres=genres, year_min=year_min, year_max=year_max, sources=sources
        )
    return _filter_cache[key]


def _messages(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
