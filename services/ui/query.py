"""One search as a value: what was asked, how to run it at any offset, and its history entry.

Every way of getting results goes through ``Query``: the search form, "Load more", "Find similar",
thumbs up / down, "Run again" from the history, and a moodboard from its second run on (its first
run sends the photos themselves, which a query never holds; it keeps their mean vector instead). A
query runs itself against the
search service (``Query.run``) and turns into, and back from, the history entry auth stores
(``to_history`` / ``from_history``). The results on screen are a ``SearchState``: the query plus
the hits shown so far.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.common.clients.search import SearchClient
from services.common.contracts.auth import HistoryEntry, HistoryIn, HistoryKind
from services.common.contracts.search import (
    DEFAULT_TEXT_WEIGHT,
    FilterOptions,
    MoodboardPage,
    Order,
    SearchHit,
    SearchPage,
)
from services.ui import headings
from services.ui.images import Upload, thumbnail_data_url

VECTOR_DIGITS = 6  # a stored query vector: ~5 kB for 512 floats, ranks the same as the full one
PLAYLIST_SIZE = 20  # a moodboard is one playlist of this many songs, never paged


class Ratings(BaseModel):
    """Thumbs up / down given to one search so far; a new rating replaces the opposite one."""

    model_config = ConfigDict(frozen=True)

    positive_track_ids: tuple[str, ...] = ()
    negative_track_ids: tuple[str, ...] = ()

    @classmethod
    def from_stored(cls, stored: dict[str, Any] | None) -> Ratings:
        """The ratings a history entry keeps (anything but a track id is dropped)."""
        stored = stored or {}
        return cls(
            positive_track_ids=tuple(t for t in stored.get("positive_track_ids") or [] if isinstance(t, str)),
            negative_track_ids=tuple(t for t in stored.get("negative_track_ids") or [] if isinstance(t, str)),
        )

    def rate(self, track_id: str, liked: bool) -> Ratings:
        up = [t for t in self.positive_track_ids if t != track_id]
        down = [t for t in self.negative_track_ids if t != track_id]
        (up if liked else down).append(track_id)
        return Ratings(positive_track_ids=tuple(up), negative_track_ids=tuple(down))


class Query(BaseModel):
    """What the user asked for; which fields matter depends on ``kind``. ``vector`` and
    ``model_id`` come from the first page: every later page ranks that same vector."""

    # Never changed in place (every step makes a copy), but not frozen: its lists cannot be hashed.
    kind: HistoryKind
    text: str = Field("", description="the words; for similar, the source song's label")
    weight: float = Field(DEFAULT_TEXT_WEIGHT, description="hybrid: the share of the words")
    filters: dict[str, Any] | None = None
    image_fingerprint: str | None = Field(None, description="image, hybrid, moodboard: sha256 of the photo")
    thumbnail: str | None = Field(None, description="a small data: URL of that photo")
    source_track_id: str | None = Field(None, description="similar: the song the results are like")
    source_label: str | None = Field(
        None, description="similar: 'Title — Artist'; feedback: the rated heading"
    )
    base_kind: HistoryKind | None = Field(None, description="feedback: the kind of the rated search")
    ratings: Ratings | None = Field(None, description="feedback: every rating given so far")
    vector: list[float] | None = Field(None, description="the query vector search answered with")
    model_id: str | None = Field(None, description="the model that made ``vector``")
    order: Order = Field("ranked", description="moodboard: the playlist's order")
    photos: int | None = Field(None, description="moodboard: how many photos it combined")

    # --- building ----------------------------------------------------------------------------------
    @classmethod
    def from_form(
        cls, text: str, weight: float, filters: dict | None, upload: Upload | None, thumbnail_px: int
    ) -> Query:
        """The search form: a photo (refined by ``text`` when given) or ``text`` alone."""
        if upload is None:
            return cls(kind="text", text=text, weight=weight, filters=filters)
        return cls(
            kind="hybrid" if text else "image", text=text, weight=weight, filters=filters,
            **photo_fields(upload, thumbnail_px),
        )  # fmt: skip

    @classmethod
    def similar_to(cls, track_id: str, label: str, filters: dict | None) -> Query:
        """Songs like one song (``label``: "Title — Artist"), under the filters of the search on screen."""
        return cls(kind="similar", text=label, filters=filters, source_track_id=track_id, source_label=label)

    def rated(self, track_id: str, liked: bool, heading: str) -> Query:
        """This search refined by one more rating (``heading``: the one on screen). A "similar"
        search's source song is liked by definition."""
        ratings = (self.ratings or Ratings()).rate(track_id, liked)
        if self.source_track_id:
            ratings = ratings.rate(self.source_track_id, True)
        if self.kind == "feedback":
            return self.model_copy(update={"ratings": ratings})
        # The refined list is no longer the photo's own: its history row shows no thumbnail.
        update = {"kind": "feedback", "ratings": ratings, "base_kind": self.kind, "source_label": heading}
        return self.model_copy(update=update | {"image_fingerprint": None, "thumbnail": None})

    def with_page(self, page: SearchPage) -> Query:
        """The query as its first page answered it: later pages rank the very same vector."""
        return self.model_copy(update={"vector": page.query_vector, "model_id": page.model_id})

    # --- running -----------------------------------------------------------------------------------
    def run(
        self, search: SearchClient, limit: int, offset: int = 0, upload: Upload | None = None
    ) -> SearchPage:
        """The page at ``offset``. A photo search's first page needs its ``upload``; every later
        page (and any search whose vector is known) ranks the stored vector instead. A moodboard
        is always its whole playlist (``PLAYLIST_SIZE``)."""
        filters = self.filters
        if self.kind == "similar" and self.source_track_id:
            return search.similar(self.source_track_id, filters=filters, limit=limit, offset=offset)
        if self.kind == "feedback" and self.vector and self.ratings is not None:
            return search.feedback(
                self.vector, positive_track_ids=list(self.ratings.positive_track_ids),
                negative_track_ids=list(self.ratings.negative_track_ids), filters=filters, limit=limit,
                offset=offset, model_id=self.model_id,
            )  # fmt: skip
        if self.kind == "moodboard" and self.vector:
            return search.moodboard_again(
                self.vector, model_id=self.model_id, order=self.order, filters=filters, limit=PLAYLIST_SIZE
            )
        if upload is not None:
            return search.search_image(
                upload.data, upload.filename, upload.content_type, text=self.text or None,
                weight=self.weight, filters=filters, limit=limit, offset=offset,
            )  # fmt: skip
        if self.vector:
            return search.search_vector(
                self.vector, filters=filters, limit=limit, offset=offset, model_id=self.model_id
            )
        if self.kind == "text" and self.text:
            return search.search_text(self.text, filters=filters, limit=limit, offset=offset)
        raise ValueError(f"a {self.kind} search without what it needs cannot run")

    def runs_without_photo(self) -> bool:
        """Whether "Run again" needs no photo: everything but a photo search keeps what it needs."""
        if self.kind in ("image", "hybrid"):
            return False
        return bool(self.vector or self.source_track_id or (self.kind == "text" and self.text))

    def heading(self, page: SearchPage) -> str:
        if self.kind == "similar":
            return headings.similar_heading(self.source_label or self.source_track_id or "", page)
        if self.kind == "feedback":
            ratings = self.ratings or Ratings()
            ups, downs = len(ratings.positive_track_ids), len(ratings.negative_track_ids)
            return headings.refined_heading(self.source_label, ups, downs)
        if self.kind == "moodboard" and isinstance(page, MoodboardPage):
            return headings.moodboard_heading(page, self.photos)
        if self.kind == "text":
            return headings.text_heading(self.text)
        return headings.photo_heading(self.text)

    # --- the history entry --------------------------------------------------------------------------
    def to_history(self, result_track_ids: Sequence[str]) -> HistoryIn:
        """The body of ``POST /history``; the service validates it (sizes, kinds)."""
        return HistoryIn.model_construct(
            kind=self.kind,
            text=self.text or None,
            weight=self.weight if self.kind == "hybrid" else None,
            filters=self.filters,
            image_fingerprint=self.image_fingerprint,
            thumbnail=self.thumbnail,
            source_track_id=self.source_track_id,
            result_track_ids=list(result_track_ids),
            feedback=self._stored_extras(),
        )

    def _stored_extras(self) -> dict[str, Any] | None:
        """What a feedback or moodboard search needs to run again (kept in the entry's
        ``feedback`` field): the query vector, rounded, with its model."""
        vector = [round(x, VECTOR_DIGITS) for x in self.vector or []]
        if self.kind == "feedback":
            ratings = self.ratings or Ratings()
            return {
                "positive_track_ids": list(ratings.positive_track_ids),
                "negative_track_ids": list(ratings.negative_track_ids),
                "base_kind": self.base_kind,
                "source_label": self.source_label,
                "query_vector": vector,
                "model_id": self.model_id,
            }
        if self.kind == "moodboard":
            return {
                "query_vector": vector,
                "model_id": self.model_id,
                "order": self.order,
                "photos": self.photos,
            }
        return None

    @classmethod
    def from_history(cls, entry: HistoryEntry | HistoryIn) -> Query:
        stored = entry.feedback or {}
        common = {
            "kind": entry.kind,
            "text": entry.text or "",
            "weight": DEFAULT_TEXT_WEIGHT if entry.weight is None else float(entry.weight),
            "filters": entry.filters or None,
            "image_fingerprint": entry.image_fingerprint,
            "thumbnail": entry.thumbnail,
            "source_track_id": entry.source_track_id,
        }
        if entry.kind == "similar":
            return cls(**common, source_label=entry.text)
        if entry.kind == "feedback":
            return cls(
                **common, ratings=Ratings.from_stored(stored), base_kind=stored.get("base_kind"),
                source_label=stored.get("source_label"), vector=stored.get("query_vector") or None,
                model_id=stored.get("model_id"),
            )  # fmt: skip
        if entry.kind == "moodboard":
            return cls(
                **common, vector=stored.get("query_vector") or None, model_id=stored.get("model_id"),
                order=stored.get("order") or "ranked", photos=stored.get("photos"),
            )  # fmt: skip
        return cls(**common)


def photo_fields(upload: Upload, thumbnail_px: int) -> dict[str, str]:
    """A photo as a history entry keeps it: its fingerprint and a small thumbnail, never the photo."""
    return {
        "image_fingerprint": upload.fingerprint,
        "thumbnail": thumbnail_data_url(upload.data, thumbnail_px),
    }


def decode_data_url(url: str | None) -> bytes | None:
    """The bytes of a ``data:image/...;base64,`` URL (a stored thumbnail); ``None`` otherwise."""
    if not url or not url.startswith("data:image/") or ";base64," not in url:
        return None
    try:
        return base64.b64decode(url.split(",", 1)[1], validate=True)
    except ValueError:
        return None


# eq=False: Gradio hashes a State's value to see whether an event changed it; this compares by
# identity, so a handler that returns a new state fires "change" (the exports follow it).
@dataclass(frozen=True, eq=False)
class SearchState:
    """The results on screen: the query that found them, the hits so far and where the next page
    starts (``None``: no more pages). ``query`` is ``None`` for a restored last search: its songs
    are shown again, but it is not rerun or paged."""

    query: Query | None = None
    hits: tuple[SearchHit, ...] = field(default_factory=tuple)
    heading: str = ""
    next_offset: int | None = None

    @classmethod
    def first(cls, query: Query, page: SearchPage) -> SearchState:
        query = query.with_page(page)
        return cls(query, tuple(page.hits), query.heading(page), page.next_offset)

    @classmethod
    def restored(cls, entry: HistoryEntry, hits: Sequence[SearchHit], heading: str) -> SearchState:
        """A past search's songs shown again. Its query names the list (a playlist saved from it)
        but holds no vector or filters: it is not paged or refined, like a search never run."""
        query = Query.from_history(entry).model_copy(update={"vector": None, "filters": None})
        return cls(query, tuple(hits), heading, None)

    def more(self, hits: Sequence[SearchHit], next_offset: int | None) -> SearchState:
        return replace(self, hits=(*self.hits, *hits), next_offset=next_offset)

    @property
    def track_ids(self) -> list[str]:
        return [hit.song.track_id for hit in self.hits]


def filters_from(
    genres: Sequence[str] | None,
    year_min: float | None,
    year_max: float | None,
    options: FilterOptions | None,
    catalogs: Sequence[str] | None = None,
) -> dict[str, Any] | None:
    """The Filters object for the search service; ``None`` when nothing narrows the search.

    A year bound equal to the catalog's own bound is left out: songs without a year would
    otherwise be filtered away by a range that the user never set. Without the catalog's range
    (search ``/filters`` failed) the sliders still hold placeholders, so no year bound is sent.
    """
    out: dict[str, Any] = {}
    if genres:
        out["genres"] = list(genres)
    if catalogs:  # imported catalogs beside the bundled one (docs/catalog.md)
        out["sources"] = list(catalogs)
    lo, hi = (options.year_min, options.year_max) if options else (None, None)
    if lo is not None and year_min is not None and int(year_min) > lo:
        out["year_min"] = int(year_min)
    if hi is not None and year_max is not None and int(year_max) < hi:
        out["year_max"] = int(year_max)
    return out or None
