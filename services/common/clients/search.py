"""Typed client for the search service (``services/search``); JSON answers come back as dicts.

Public methods serve the UI; ``update_enrichment``, ``pending_enrichment``, ``enrichment_stats`` and
the ``index_*`` methods are internal and need the service token (``token=`` in the constructor).
Errors follow ``ServiceClient``: 4xx → ``ServiceError`` with the service's message at once.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from services.common.http import ServiceClient

BACKUP_TIMEOUT_S = 300.0  # a snapshot of the full catalog is about 100 MB

Filters = dict[str, Any] | None


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


class SearchClient(ServiceClient):
    """``SearchClient(settings.search_url, token=...)``."""

    service = "search"
    url_setting = "search_url"

    # --- public -----------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """``{"collection", "backend", "points", "model_id", "dim", "version"}``."""
        return self.get_json("/info")


    def filters(self) -> dict[str, Any]:
        """``{"genres": [...], "year_min", "year_max"}``."""
        return self.get_json("/filters")

    def search_image(
        self,
        data: bytes,
        filename: str = "image",
        content_type: str = "application/octet-stream",
        *,
        text: str | None = None,
        weight: float = 0.3,
        filters: Filters = None,
        limit: int = 20,
        offset: int = 0,
        diversity: str = "artist",
    ) -> dict[str, Any]:
        """A photo, optionally refined by ``text`` (``weight`` = the text's share) → SearchPage."""
        form: dict[str, Any] = {
            "weight": str(weight),
            "limit": str(limit),
            "offset": str(offset),
            "diversity": diversity,
        }
        if text:
            form["text"] = text
        if filters:
            form["filters"] = json.dumps(_dump(filters))
        files = {"file": (filename, data, content_type)}
        return self.request("POST", "/search/image", files=files, data=form).json()

    def search_text(
        self,
        text: str,
        *,
        filters: Filters = None,
        limit: int = 20,
        offset: int = 0,
        diversity: str = "artist",
    ) -> dict[str, Any]:
        body = {
            "text": text,
            "filters": _dump(filters),
            "limit": limit,
            "offset": offset,
            "diversity": diversity,
        }
        return self.post_json("/search/text", body)

    def search_vector(
        self,
        vector: list[float],
        *,
        filters: Filters = None,
        limit: int = 20,
        offset: int = 0,
        diversity: str = "artist",
        model_id: str | None = None,
    ) -> dict[str, Any]:
        """A page's ``query_vector`` again at another offset ("load more")."""
        body = {
            "vector": vector,
            "filters": _dump(filters),
            "limit": limit,
            "offset": offset,
            "diversity": diversity,
            "model_id": model_id,
        }
        return self.post_json("/search/vector", body)

    def similar(
        self,
        track_id: str,
        *,
        negative_track_ids: list[str] | None = None,
        filters: Filters = None,
        limit: int = 20,
        offset: int = 0,
        diversity: str = "artist",
        audio_weight: float | None = None,
    ) -> dict[str, Any]:
        """Songs like ``track_id`` (never itself), away from ``negative_track_ids``; the page's
        ``audio_weight`` is the share of sound used (``None`` asks for the service's setting)."""
        body = {
            "track_id": track_id,
            "negative_track_ids": negative_track_ids or [],
            "filters": _dump(filters),
            "limit": limit,
            "offset": offset,
            "diversity": diversity,
            "audio_weight": audio_weight,
        }
        return self.post_json("/search/similar", body)

    def feedback(
        self,
        vector: list[float],
        *,
        positive_track_ids: list[str] | None = None,
        negative_track_ids: list[str] | None = None,
        filters: Filters = None,
        limit: int = 20,
        offset: int = 0,
        diversity: str = "artist",
        model_id: str | None = None,
    ) -> dict[str, Any]:
        """A page's ``query_vector`` refined by thumbs up (positive) / down (negative) songs."""
        body = {
            "vector": vector,
            "positive_track_ids": positive_track_ids or [],
            "negative_track_ids": negative_track_ids or [],
            "filters": _dump(filters),
            "limit": limit,
            "offset": offset,
            "diversity": diversity,
            "model_id": model_id,
        }
        return self.post_json("/search/feedback", body)

    def moodboard(
        self,
        photos: list[tuple[str, bytes, str]],
        *,
        order: str = "ranked",
        filters: Filters = None,
        limit: int = 20,
        diversity: str = "artist",
    ) -> dict[str, Any]:
        """One playlist for 2-6 ``(filename, bytes, content type)`` photos → MoodboardPage
        (``rejected`` names the photos that could not be used)."""
        form: dict[str, Any] = {"order": order, "limit": str(limit), "diversity": diversity}
        if filters:
            form["filters"] = json.dumps(_dump(filters))
        files = [("files", photo) for photo in photos]
        return self.request("POST", "/search/moodboard", files=files, data=form).json()

    def moodboard_again(
        self,
        vector: list[float],
        *,
        model_id: str | None,
        order: str = "ranked",
        filters: Filters = None,
        limit: int = 20,
        diversity: str = "artist",
    ) -> dict[str, Any]:
        """A stored moodboard's combined ``vector`` as a playlist again."""
        body = {"vector": vector, "model_id": model_id, "order": order, "filters": _dump(filters),
                "limit": limit, "diversity": diversity}  # fmt: skip
        return self.post_json("/search/moodboard/vector", body)

    def song_names(self, text: str, limit: int = 8) -> list[dict[str, Any]]:
        """Songs whose title/artist words start with the words of ``text`` (``[]`` when none)."""
        return self.get_json("/songs/names", params={"q": text, "limit": limit})["matches"]

    def song(self, track_id: str) -> dict[str, Any]:
        """One Song as a dict; ``ServiceError`` with status 404 for an unknown id."""
        return self.get_json(f"/songs/{track_id}")

    def songs(self, track_ids: list[str]) -> list[dict[str, Any]]:
        """The known songs among ``track_ids`` (one request; unknown ids are left out)."""
        return self.get_json("/songs", params={"ids": ",".join(track_ids)})

    # --- internal: the enricher -------------------------------------------------------------------
    def update_enrichment(self, track_id: str, enrichment: dict[str, Any] | BaseModel) -> dict[str, Any]:
        """The song after the update plus ``applied`` (False: an older result than the stored one)."""
        return self.request("PATCH", f"/songs/{track_id}/enrichment", json=_dump(enrichment)).json()

    def update_spotify_art(self, track_id: str, art: dict[str, Any] | BaseModel) -> dict[str, Any]:
        """Like ``update_enrichment``, for an oEmbed art result (``spotify_art_*`` fields only)."""
        return self.request("PATCH", f"/songs/{track_id}/spotify-art", json=_dump(art)).json()

    def pending_enrichment(
        self,
        limit: int = 100,
        after: str | None = None,
        older_than_days: float | None = None,
        all: bool = False,  # noqa: A002 - the query parameter's name
    ) -> dict[str, Any]:
        """``{"track_ids", "popularity" (same order), "next": cursor|None}``; pass ``next`` as ``after``."""
        params: dict[str, Any] = {"limit": limit, "all": str(all).lower()}
        if after:
            params["after"] = after
        if older_than_days is not None:
            params["older_than_days"] = older_than_days
        return self.get_json("/songs/enrichment/pending", params=params)

    def enrichment_stats(self) -> dict[str, int]:
        """``{"pending", "ok", "not_found", "failed"}`` counts."""
        return self.get_json("/stats/enrichment")

    # --- internal: the indexing job ---------------------------------------------------------------
    def index_status(self) -> dict[str, Any]:
        return self.get_json("/index/status")

    def index_ensure(self, model_id: str, dim: int) -> dict[str, Any]:
        """The active version for this model (created if the index is empty); 409 for another model."""
        return self.post_json("/index/ensure", {"model_id": model_id, "dim": dim})

    def index_create_version(self, model_id: str, dim: int) -> dict[str, Any]:
        """A new empty version; searches keep using the current one until ``index_activate``."""
        return self.post_json("/index/versions", {"model_id": model_id, "dim": dim})

    def index_points(
        self, model_id: str, items: list[dict[str, Any]], version: str | None = None
    ) -> dict[str, int]:
        """Upsert ``[{"song": Song-dict, "vector": [...]}]`` into ``version`` (None: the active one)."""
        return self.post_json("/index/points", {"version": version, "model_id": model_id, "items": items})

    def index_present(self, track_ids: list[str], version: str | None = None) -> list[str]:
        return self.post_json("/index/present", {"version": version, "track_ids": track_ids})["track_ids"]

    def index_optimize(self, version: str, timeout_s: float = 3600.0) -> dict[str, Any]:
        """Build the version's vector index; minutes at a million songs, hence its own timeout."""
        return self.post_json(f"/index/versions/{version}/optimize", timeout=timeout_s)

    def index_activate(self, version: str, drop_old: bool = True) -> dict[str, Any]:
        """Switch the alias to ``version``; ``{"active", "previous", "dropped"}``."""
        params = {"drop_old": str(drop_old).lower()}
        return self.post_json(f"/index/versions/{version}/activate", params=params)

    def catalog_unchanged(self, items: list[dict[str, str]]) -> list[str]:
        """Of ``[{"track_id", "import_hash"}]``, the ids already stored with that hash."""
        return self.post_json("/catalog/unchanged", {"items": items})["track_ids"]

    def catalog_taken(self, source: str, track_ids: list[str]) -> list[dict[str, str]]:
        """Of ``track_ids``, the songs another catalog holds (``track_id``, ``source``, ``title``,
        ``artist``): importing them as ``source`` replaces those songs."""
        return self.post_json("/catalog/taken", {"source": source, "track_ids": track_ids})["songs"]

    def catalog_imported(
        self, version: str | None = None, after: str | None = None, limit: int = 500
    ) -> dict[str, Any]:
        """A page of imported songs ``{"items": [{"song", "source", "import_hash"}], "next"}``."""
        params = {"limit": limit} | {k: v for k, v in (("version", version), ("after", after)) if v}
        return self.get_json("/catalog/imported", params=params)

    def catalog_replace(self, source: str) -> dict[str, Any]:
        """Delete every song not from ``source``; ``{"source", "deleted", "remaining"}``."""
        return self.post_json("/catalog/replace", {"source": source})

    def index_drop(self, version: str) -> None:
        self.request("DELETE", f"/index/versions/{version}")

    # --- internal: backups of the embedded index ----------------------------------------------------
    def index_snapshot(self) -> bytes:
        """A consistent tar of the embedded index (501 with a Qdrant server)."""
        return self.request("GET", "/index/snapshot", timeout=BACKUP_TIMEOUT_S).content

    def index_restore(self, snapshot: bytes) -> None:
        """Replace the embedded index with ``snapshot`` (from ``index_snapshot``)."""
        self.request("PUT", "/index/snapshot", content=snapshot, timeout=BACKUP_TIMEOUT_S)
