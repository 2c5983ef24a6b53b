"""Typed client for the search service (``services/search``).

Requests are built from the models in ``services.common.contracts.search`` and the answers the UI
reads come back as those models (``SearchPage``, ``MoodboardPage``, ``Song``, ...). The service is
the one place that validates a request, so a bad value gets its 4xx message, not a local error.
The ``update_*``, ``pending_enrichment``, ``enrichment_stats``, ``index_*`` and ``catalog_*``
methods are internal and need the service token (``token=`` in the constructor). Errors follow
``ServiceClient``: 4xx -> ``ServiceError`` with the service's message at once.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict, TypeVar, Unpack

from pydantic import BaseModel

from services.common.contracts import request_body
from services.common.contracts.search import (
    DEFAULT_TEXT_WEIGHT,
    Activation,
    Diversity,
    EnrichmentResult,
    EnrichmentStats,
    FeedbackQuery,
    FilterOptions,
    Filters,
    ImportedHash,
    ImportedHashes,
    ImportedPage,
    IndexItem,
    IndexPoints,
    IndexPresent,
    IndexStatus,
    Info,
    MoodboardPage,
    MoodboardVectorQuery,
    NameMatches,
    Order,
    Page,
    PendingPage,
    ReplaceCatalog,
    Replaced,
    SearchPage,
    SimilarQuery,
    SongMatch,
    TakenRequest,
    TakenSong,
    TakenSongs,
    TextQuery,
    TrackIds,
    Upserted,
    VectorQuery,
    VersionInfo,
    VersionRequest,
)
from services.common.contracts.songs import Enrichment, Song, SpotifyArt
from services.common.http import ServiceClient

BACKUP_TIMEOUT_S = 300.0  # a snapshot of the full catalog is about 100 MB
PageT = TypeVar("PageT", SearchPage, MoodboardPage)

FiltersIn = Filters | dict[str, Any] | None


class PageOptions(TypedDict, total=False):
    """How any search pages and narrows its results; what is left out takes the contract's
    default (``Page``: 20 songs from offset 0, one artist at most twice, no filters)."""

    filters: FiltersIn
    limit: int
    offset: int
    diversity: Diversity


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _form(page: Page, **fields: object) -> dict[str, str]:
    """A multipart request's fields (photo uploads): values as text, the filters as JSON."""
    form = {"limit": str(page.limit), "offset": str(page.offset), "diversity": page.diversity}
    if page.filters:
        form["filters"] = json.dumps(_dump(page.filters))
    return form | {name: str(value) for name, value in fields.items() if value is not None}


class SearchClient(ServiceClient):
    """``SearchClient(settings.search_url, token=...)``."""

    service = "search"
    url_setting = "search_url"

    def _post(self, path: str, answer: type[PageT], query: type[Page], **fields: Any) -> PageT:
        """Filters may arrive as the plain dict a history entry stores: sent as they are."""
        return answer.model_validate(self.post_json(path, request_body(query, **fields)))

    def _upload(self, path: str, files: Any, form: dict[str, str], answer: type[PageT]) -> PageT:
        return answer.model_validate(self.request("POST", path, files=files, data=form).json())

    # --- public -----------------------------------------------------------------------------------
    def info(self) -> Info:
        return Info.model_validate(self.get_json("/info"))

    def filters(self) -> FilterOptions:
        return FilterOptions.model_validate(self.get_json("/filters"))

    def search_image(
        self,
        data: bytes,
        filename: str = "image",
        content_type: str = "application/octet-stream",
        *,
        text: str | None = None,
        weight: float = DEFAULT_TEXT_WEIGHT,
        **page: Unpack[PageOptions],
    ) -> SearchPage:
        """A photo, optionally refined by ``text`` (``weight`` = the text's share)."""
        form = _form(Page.model_construct(**page), weight=weight, text=text or None)
        return self._upload("/search/image", {"file": (filename, data, content_type)}, form, SearchPage)

    def search_text(self, text: str, **page: Unpack[PageOptions]) -> SearchPage:
        return self._post("/search/text", SearchPage, TextQuery, text=text, **page)

    def search_vector(
        self, vector: list[float], *, model_id: str | None = None, **page: Unpack[PageOptions]
    ) -> SearchPage:
        """A page's ``query_vector`` again at another offset ("load more"); ``model_id`` lets search
        refuse a vector of another model (the index was rebuilt meanwhile)."""
        return self._post("/search/vector", SearchPage, VectorQuery, vector=vector, model_id=model_id, **page)

    def similar(
        self,
        track_id: str,
        *,
        negative_track_ids: list[str] | None = None,
        audio_weight: float | None = None,
        **page: Unpack[PageOptions],
    ) -> SearchPage:
        """Songs like ``track_id`` (never itself), away from ``negative_track_ids``; the page's
        ``audio_weight`` is the share of sound used (``None`` asks for the service's setting)."""
        negatives = negative_track_ids or []
        return self._post(
            "/search/similar", SearchPage, SimilarQuery,
            track_id=track_id, negative_track_ids=negatives, audio_weight=audio_weight, **page,
        )  # fmt: skip

    def feedback(
        self,
        vector: list[float],
        *,
        positive_track_ids: list[str] | None = None,
        negative_track_ids: list[str] | None = None,
        model_id: str | None = None,
        **page: Unpack[PageOptions],
    ) -> SearchPage:
        """A page's ``query_vector`` refined by thumbs up (positive) / down (negative) songs."""
        ratings = {
            "positive_track_ids": positive_track_ids or [],
            "negative_track_ids": negative_track_ids or [],
        }
        return self._post(
            "/search/feedback", SearchPage, FeedbackQuery, vector=vector, model_id=model_id, **ratings, **page
        )

    def moodboard(
        self, photos: list[tuple[str, bytes, str]], *, order: Order = "ranked", **page: Unpack[PageOptions]
    ) -> MoodboardPage:
        """One playlist for 2-6 ``(filename, bytes, content type)`` photos (``rejected`` names the
        photos that could not be used)."""
        form = _form(Page.model_construct(**page), order=order)
        return self._upload("/search/moodboard", [("files", photo) for photo in photos], form, MoodboardPage)

    def moodboard_again(
        self,
        vector: list[float],
        *,
        model_id: str | None,
        order: Order = "ranked",
        **page: Unpack[PageOptions],
    ) -> MoodboardPage:
        """A stored moodboard's combined ``vector`` as a playlist again."""
        return self._post(
            "/search/moodboard/vector", MoodboardPage, MoodboardVectorQuery,
            vector=vector, model_id=model_id, order=order, **page,
        )  # fmt: skip

    def song_names(self, text: str, limit: int = 8) -> list[SongMatch]:
        """Songs whose title/artist words start with the words of ``text`` (``[]`` when none)."""
        return NameMatches.model_validate(
            self.get_json("/songs/names", params={"q": text, "limit": limit})
        ).matches

    def song(self, track_id: str) -> Song:
        """One song; ``ServiceError`` with status 404 for an unknown id."""
        return Song.model_validate(self.get_json(f"/songs/{track_id}"))

    def songs(self, track_ids: list[str]) -> list[Song]:
        """The known songs among ``track_ids`` (one request; unknown ids are left out)."""
        return [Song.model_validate(s) for s in self.get_json("/songs", params={"ids": ",".join(track_ids)})]

    # --- internal: the enricher -------------------------------------------------------------------
    def update_enrichment(self, track_id: str, enrichment: Enrichment) -> EnrichmentResult:
        """The song after the update; ``applied`` is False for an older result than the stored one."""
        answer = self.request(
            "PATCH", f"/songs/{track_id}/enrichment", json=enrichment.model_dump(mode="json")
        )
        return EnrichmentResult.model_validate(answer.json())

    def update_spotify_art(self, track_id: str, art: SpotifyArt) -> EnrichmentResult:
        """Like ``update_enrichment``, for an oEmbed art result (``spotify_art_*`` fields only)."""
        answer = self.request("PATCH", f"/songs/{track_id}/spotify-art", json=art.model_dump(mode="json"))
        return EnrichmentResult.model_validate(answer.json())

    def pending_enrichment(
        self,
        limit: int = 100,
        after: str | None = None,
        older_than_days: float | None = None,
        all: bool = False,  # noqa: A002 - the query parameter's name
    ) -> PendingPage:
        """Track ids waiting for a lookup, their popularity (same order) and the ``next`` cursor,
        to pass as ``after`` (None after the last page)."""
        params: dict[str, Any] = {"limit": limit, "all": str(all).lower()}
        if after:
            params["after"] = after
        if older_than_days is not None:
            params["older_than_days"] = older_than_days
        return PendingPage.model_validate(self.get_json("/songs/enrichment/pending", params=params))

    def enrichment_stats(self) -> EnrichmentStats:
        """Songs per enrichment status (pending, ok, not_found, failed)."""
        return EnrichmentStats.model_validate(self.get_json("/stats/enrichment"))

    # --- internal: the indexing job ---------------------------------------------------------------
    def index_status(self) -> IndexStatus:
        return IndexStatus.model_validate(self.get_json("/index/status"))

    def index_ensure(self, model_id: str, dim: int) -> VersionInfo:
        """The active version for this model (created if the index is empty); 409 for another model."""
        body = request_body(VersionRequest, model_id=model_id, dim=dim)
        return VersionInfo.model_validate(self.post_json("/index/ensure", body))

    def index_create_version(self, model_id: str, dim: int) -> VersionInfo:
        """A new empty version; searches keep using the current one until ``index_activate``."""
        body = request_body(VersionRequest, model_id=model_id, dim=dim)
        return VersionInfo.model_validate(self.post_json("/index/versions", body))

    def index_points(self, model_id: str, items: list[IndexItem], version: str | None = None) -> int:
        """Upsert songs with their vectors into ``version`` (None: the active one); the number of
        songs written. Items may be built with ``model_construct``: the service validates them."""
        body = request_body(IndexPoints, version=version, model_id=model_id, items=items)
        return Upserted.model_validate(self.post_json("/index/points", body)).upserted

    def index_present(self, track_ids: list[str], version: str | None = None) -> list[str]:
        body = request_body(IndexPresent, version=version, track_ids=track_ids)
        return TrackIds.model_validate(self.post_json("/index/present", body)).track_ids

    def index_optimize(self, version: str, timeout_s: float = 3600.0) -> VersionInfo:
        """Build the version's vector index; minutes at a million songs, hence its own timeout."""
        answer = self.post_json(f"/index/versions/{version}/optimize", timeout=timeout_s)
        return VersionInfo.model_validate(answer)

    def index_activate(self, version: str, drop_old: bool = True) -> Activation:
        """Switch the alias to ``version``: the version now active, the one before and those dropped."""
        params = {"drop_old": str(drop_old).lower()}
        return Activation.model_validate(self.post_json(f"/index/versions/{version}/activate", params=params))

    def catalog_unchanged(self, items: list[ImportedHash]) -> list[str]:
        """Of these songs, the ids already stored with that import hash."""
        body = request_body(ImportedHashes, items=items)
        return TrackIds.model_validate(self.post_json("/catalog/unchanged", body)).track_ids

    def catalog_taken(self, source: str, track_ids: list[str]) -> list[TakenSong]:
        """Of ``track_ids``, the songs another catalog holds: importing them as ``source`` replaces
        those songs."""
        body = request_body(TakenRequest, source=source, track_ids=track_ids)
        return TakenSongs.model_validate(self.post_json("/catalog/taken", body)).songs

    def catalog_imported(
        self, version: str | None = None, after: str | None = None, limit: int = 500
    ) -> ImportedPage:
        """A page of imported songs (song, source, import hash) and the ``next`` cursor."""
        params = {"limit": limit} | {k: v for k, v in (("version", version), ("after", after)) if v}
        return ImportedPage.model_validate(self.get_json("/catalog/imported", params=params))

    def catalog_replace(self, source: str) -> Replaced:
        """Delete every song not from ``source``; how many went and how many remain."""
        return Replaced.model_validate(
            self.post_json("/catalog/replace", request_body(ReplaceCatalog, source=source))
        )

    def index_drop(self, version: str) -> None:
        self.request("DELETE", f"/index/versions/{version}")

    # --- internal: backups of the embedded index ----------------------------------------------------
    def index_snapshot(self) -> bytes:
        """A consistent tar of the embedded index (501 with a Qdrant server)."""
        return self.request("GET", "/index/snapshot", timeout=BACKUP_TIMEOUT_S).content

    def index_restore(self, snapshot: bytes) -> None:
        """Replace the embedded index with ``snapshot`` (from ``index_snapshot``)."""
        self.request("PUT", "/index/snapshot", content=snapshot, timeout=BACKUP_TIMEOUT_S)
