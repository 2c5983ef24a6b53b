"""The search strategies: one short function per kind of query, all ending in the same page.

Every strategy builds a query (a vector, or a recommendation from example songs) plus payload
conditions, then ``_page`` turns candidates into a page: the diversity step
(``services/search/diversity.py``) pulls as many ranked candidates as it needs through a fetch
callback, and ``services/search/explain.py`` gives each hit its reasons.
"""

from __future__ import annotations

from collections.abc import Callable

from services.common.contracts.search import Page, SearchHit, SearchPage
from services.common.contracts.songs import Song
from services.search.audio import TYPICAL_DISTANCE
from services.search.diversity import Candidate, diversified_page
from services.search.explain import Explainer
from services.search.filters import to_conditions
from services.search.storage.base import (
    BUNDLED_SOURCE,
    CollectionMeta,
    Conditions,
    Fused,
    Recommend,
    StoredPoint,
    point_id,
)
from services.search.storage.store import VectorStore, checked_meta
from services.search.vectors import normalise

Fetch = Callable[[int, int, bool], list[StoredPoint]]
# Candidates each ranking (description, audio) hands to the fusion formula: far more than a page,
# so a song ranked well by one only is still scored by both.
FUSION_DEPTH = 200
FEEDBACK_ANCHORS = 3  # the query's best unrated songs, standing for the query among song vectors


class SongNotFound(LookupError):
    pass


class SearchEngine:
    """The search strategies over one store; ``explainer`` (optional) adds each hit's reasons."""

    def __init__(self, store: VectorStore, explainer: Explainer | None = None):
        self.store = store
        self.explainer = explainer

    def collection(self) -> CollectionMeta:
        return self.store.meta()

    # --- strategies -------------------------------------------------------------------------------
    def by_vector(self, vector: list[float], page: Page, model_id: str | None) -> SearchPage:
        """Nearest songs to a query vector (image, text, blend or a "load more" page): exact cosine."""
        meta = checked_meta(self.store, None, model_id, len(vector))
        query = normalise(vector)
        cond = to_conditions(page.filters)

        def fetch(limit: int, offset: int, with_vectors: bool = False) -> list[StoredPoint]:
            return self.store.query(None, query, cond, limit, offset, with_vectors)

        return self._page(fetch, page, query, meta)

    def similar_to(
        self, track_id: str, negative_track_ids: list[str], page: Page, audio_weight: float = 0.0
    ) -> SearchPage:
        """Songs like ``track_id``: recommend (best score) with the song as the positive example,
        the negatives pushing away; the song itself and the negatives are filtered out.

        With ``audio_weight`` > 0 that description ranking is fused with the nearest audio vectors
        (how the song sounds) by a score formula in the engine (``Fused``); a source song without
        an audio vector falls back to the description alone, and the page says so (weight 0)."""
        meta = self.store.meta()
        ids = [point_id(track_id), *(point_id(t) for t in negative_track_ids)]
        found = {p.id: p for p in self.store.retrieve(None, ids, with_vectors=True)}
        missing = [t for t, pid in zip([track_id, *negative_track_ids], ids, strict=True) if pid not in found]
        if missing:
            raise SongNotFound(f"unknown track_id(s): {', '.join(missing)}")
        source = found[ids[0]]
        assert source.vector is not None
        description = Recommend([source.vector], [found[i].vector for i in ids[1:] if found[i].vector])
        cond = to_conditions(page.filters, exclude_ids=ids)
        used = audio_weight if source.audio is not None else 0.0

        def fetch(limit: int, offset: int, with_vectors: bool = False) -> list[StoredPoint]:
            query: Recommend | Fused = description
            if used > 0:
                assert source.audio is not None
                depth = max(limit + offset, FUSION_DEPTH)
                query = Fused(description, source.audio, used, TYPICAL_DISTANCE, depth)
            return self.store.query(None, query, cond, limit, offset, with_vectors)

        result = self._page(fetch, page, list(source.vector), meta)
        result.audio_weight = used
        return result

    def from_feedback(
        self,
        vector: list[float],
        positive_track_ids: list[str],
        negative_track_ids: list[str],
        page: Page,
        model_id: str | None = None,
    ) -> SearchPage:
        """Thumbs up / down refine the next page: recommend (best score) with positives =
        the query vector, the query's top ``FEEDBACK_ANCHORS`` unrated songs and the liked songs,
        negatives = the disliked songs; rated songs are filtered out. No ratings: the plain search.

        Why anchors: CLIP's modality gap puts song (text) vectors much nearer each other (cosine
        ~0.7-0.9) than to any photo (~0.2-0.35). Against a photo query alone, every song is nearer a
        disliked song than the photo, so best score would ignore the photo entirely. The anchors
        stand for the photo on the text side, so "like my photo, not like these" compares like with
        like, and down-only feedback needs no negated mean (which drifts to "anything unlike these")."""
        if not positive_track_ids and not negative_track_ids:
            return self.by_vector(vector, page, model_id)
        meta = checked_meta(self.store, None, model_id, len(vector))
        overlap = sorted(set(positive_track_ids) & set(negative_track_ids))
        if overlap:
            raise ValueError(f"track(s) rated both up and down: {', '.join(overlap)}")
        query = normalise(vector)
        rated = [*positive_track_ids, *negative_track_ids]
        vectors = self._song_vectors(rated)
        cond = to_conditions(page.filters, exclude_ids=[point_id(t) for t in rated])
        best = self.store.query(None, query, cond, FEEDBACK_ANCHORS, 0, with_vectors=True)
        anchors = [p.vector for p in best if p.vector]
        liked, disliked = vectors[: len(positive_track_ids)], vectors[len(positive_track_ids) :]
        recommend = Recommend([query, *anchors, *liked], disliked)

        def fetch(limit: int, offset: int, with_vectors: bool = False) -> list[StoredPoint]:
            return self.store.query(None, recommend, cond, limit, offset, with_vectors)

        return self._page(fetch, page, query, meta)

    def _song_vectors(self, track_ids: list[str]) -> list[list[float]]:
        """The stored vectors of ``track_ids`` in order; SongNotFound names any unknown id."""
        ids = [point_id(t) for t in track_ids]
        found = {p.id: p for p in self.store.retrieve(None, ids, with_vectors=True)} if ids else {}
        missing = [t for t, pid in zip(track_ids, ids, strict=True) if pid not in found]
        if missing:
            raise SongNotFound(f"unknown track_id(s): {', '.join(missing)}")
        return [list(found[pid].vector or []) for pid in ids]

    def song(self, track_id: str) -> Song:
        points = self.store.retrieve(None, [point_id(track_id)])
        if not points:
            raise SongNotFound(f"no song with track_id '{track_id}'")
        return Song.model_validate(points[0].payload)

    def songs(self, track_ids: list[str]) -> list[Song]:
        """The known songs among ``track_ids``, in that order (unknown ids are left out)."""
        by_id = {p.id: p.payload for p in self.store.retrieve(None, [point_id(t) for t in track_ids])}
        return [Song.model_validate(by_id[point_id(t)]) for t in track_ids if point_id(t) in by_id]

    # --- the shared page step ---------------------------------------------------------------------
    def _page(self, fetch: Fetch, page: Page, query_vector: list[float], meta: CollectionMeta) -> SearchPage:
        """Rank candidates, re-rank them for diversity (``diversity.py``) and cut one page.

        The ranked list always starts at candidate 0 and is cut in Python, so page N of a query is
        a slice of the same list as page 1: no duplicates across pages, whatever the diversity mode.
        """
        with_vectors = page.diversity == "mmr"

        def candidates(n: int) -> list[Candidate[StoredPoint]]:
            return [
                Candidate(
                    track_id=p.payload.get("track_id", p.id),
                    score=p.score,
                    artist=p.payload.get("artist", ""),
                    item=p,
                    vector=p.vector,
                )
                for p in fetch(n, 0, with_vectors)
            ]

        result = diversified_page(page.diversity, candidates, page.offset, page.limit)
        songs = [Song.model_validate(c.item.payload) for c in result.items]
        if self.explainer is not None:
            reasons = self.explainer(meta.model_id, query_vector, songs)
        else:
            reasons = [[] for _ in songs]
        hits = [
            SearchHit(score=c.score, song=song, explanation=why)
            for c, song, why in zip(result.items, songs, reasons, strict=True)
        ]
        return SearchPage(
            hits=hits,
            offset=page.offset,
            limit=page.limit,
            next_offset=result.next_offset,
            query_vector=query_vector,
            model_id=meta.model_id,
        )


def filter_options(
    store: VectorStore, batch: int = 2048
) -> tuple[list[str], int | None, int | None, list[str]]:
    """Every genre in the index, its year range and its catalog sources, read by scrolling the
    three payload fields (a song indexed before sources existed counts as "bundled")."""
    genres: set[str] = set()
    sources: set[str] = set()
    years: list[int] = []
    after: str | None = None
    for _ in range(10_000):  # bounded: 20M songs at most
        points, after = store.scroll(None, Conditions(), batch, after, ["genres", "year", "source"])
        for p in points:
            genres.update(p.payload.get("genres") or [])
            sources.add(p.payload.get("source") or BUNDLED_SOURCE)
            if isinstance(p.payload.get("year"), int):
                years.append(p.payload["year"])
        if after is None:
            break
    return sorted(genres), (min(years) if years else None), (max(years) if years else None), sorted(sources)
