"""Decisions of one enrichment (no Celery): what gets stored, and what is left alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services.common.contracts.search import EnrichmentResult
from services.common.contracts.songs import Enrichment, Song
from services.enricher.enrich import enrich
from services.enricher.itunes import parse_candidates
from services.enricher.retrying_get import LookupFailed
from services.enricher.schemas import Candidate
from tests.enricher.fake_itunes import FIXTURES
from tests.songs import make_song

THRESHOLD = 0.75
BOHEMIAN = "1AhDOtG9vPSOmsWgNW0BEY"


class MemoryStore:
    """Keeps songs like the search service does: a result older than the stored one is not applied."""

    def __init__(self, *songs: Song):
        self.songs = {s.track_id: s for s in songs}
        self.writes: list[Enrichment] = []

    def song(self, track_id: str) -> Song:
        return self.songs[track_id].model_copy()

    def update_enrichment(self, track_id: str, enrichment: Enrichment) -> EnrichmentResult:
        self.writes.append(enrichment)
        current = self.songs[track_id]
        if current.enriched_at is not None and enrichment.enriched_at < current.enriched_at:
            return EnrichmentResult(**current.model_dump(), applied=False)
        self.songs[track_id] = current.model_copy(update=enrichment.model_dump())
        return EnrichmentResult(**self.songs[track_id].model_dump(), applied=True)


def song(track_id: str = BOHEMIAN, **overrides: Any) -> Song:
    """Queen's "Bohemian Rhapsody" as the catalog holds it (the song of the iTunes fixture)."""
    queen = {"title": "Bohemian Rhapsody - Remastered 2011", "artist": "Queen", "genre": "rock", "year": 1975}
    return make_song(track_id, **{**queen, "description": "a rock song", "duration_ms": 354320, **overrides})


def lookup_fixture(name: str):
    terms: list[str] = []

    def lookup(term: str) -> list[Candidate]:
        terms.append(term)
        return parse_candidates(FIXTURES[name])

    lookup.terms = terms  # type: ignore[attr-defined]
    return lookup


def run(
    store: MemoryStore,
    lookup: Callable[[str], list[Candidate]] | str,
    track_id: str = BOHEMIAN,
    **kwargs: Any,
):
    """``enrich`` of ``track_id`` at the test threshold; ``lookup`` is one or names an iTunes fixture."""
    if isinstance(lookup, str):
        lookup = lookup_fixture(lookup)
    return enrich(track_id, store=store, lookup=lookup, threshold=THRESHOLD, **kwargs)


def test_ok_stores_the_matched_track_with_large_art() -> None:
    store = MemoryStore(song())
    lookup = lookup_fixture("bohemian_rhapsody")
    outcome = run(store, lookup, clock=lambda: 1000.0)
    assert lookup.terms == ["Queen Bohemian Rhapsody"]
    assert (outcome.action, outcome.status) == ("stored", "ok")
    stored = store.songs[BOHEMIAN]
    assert stored.enrich_status == "ok" and stored.enriched_at == 1000.0
    assert stored.itunes_id == 1440650711 and stored.itunes_genre == "Rock" and stored.itunes_year == 1975
    assert stored.art_url and stored.art_url.endswith("/600x600bb.jpg")
    assert stored.preview_url == FIXTURES["bohemian_rhapsody"]["results"][2]["previewUrl"]
    assert stored.itunes_url == FIXTURES["bohemian_rhapsody"]["results"][2]["trackViewUrl"]
    assert stored.match_score == pytest.approx(1.0)
    assert stored.display_genre == "Rock"


def test_below_threshold_is_not_found_and_clears_an_old_wrong_preview() -> None:
    # A song carrying the old script's first-hit preview (another artist's track).
    old = song(
        track_id="0Jhe8RFNXhcWEWX6G6X2ke",
        title="Bad Guy",
        artist="Critic City",
        duration_ms=196572,
        enrich_status="ok",
        enriched_at=10.0,
        preview_url="https://wrong.example/preview.m4a",
        itunes_id=1,
    )
    store = MemoryStore(old)
    outcome = run(store, "bad_guy_covers", old.track_id, clock=lambda: 2000.0)
    stored = store.songs[old.track_id]
    assert outcome.status == stored.enrich_status == "not_found"
    assert stored.preview_url is None and stored.itunes_id is None and stored.art_url is None
    assert stored.match_score is not None and stored.match_score < THRESHOLD
    assert "Billie Eilish" in (stored.enrich_reason or "") and "< 0.75" in (stored.enrich_reason or "")


def test_no_results_is_not_found() -> None:
    store = MemoryStore(song())
    outcome = run(store, "no_results")
    assert outcome.status == "not_found" and outcome.reason == "no song results from iTunes"


def test_failed_lookup_is_recorded_with_its_reason() -> None:
    store = MemoryStore(song())

    def failing(term: str) -> list[Candidate]:
        raise LookupFailed("gave up after 5 tries: iTunes answered 503")

    outcome = run(store, failing, clock=lambda: 5.0)
    stored = store.songs[BOHEMIAN]
    assert outcome.status == stored.enrich_status == "failed"
    assert stored.enrich_reason == "gave up after 5 tries: iTunes answered 503" and stored.enriched_at == 5.0


def test_failed_lookup_never_replaces_a_good_result() -> None:
    good = song(enrich_status="ok", enriched_at=100.0, preview_url="https://audio.example/p.m4a", itunes_id=7)
    store = MemoryStore(good)

    def failing(term: str) -> list[Candidate]:
        raise LookupFailed("gave up after 5 tries: timeout")

    outcome = run(store, failing, good.track_id, clock=lambda: 200.0)
    assert outcome.action == "skipped" and outcome.status == "failed"
    assert store.writes == [] and store.songs[good.track_id] == good


def test_running_twice_leaves_the_same_payload_and_calls_itunes_once() -> None:
    store = MemoryStore(song())
    lookup = lookup_fixture("bohemian_rhapsody")
    clock = iter([1000.0, 1001.0]).__next__
    first = run(store, lookup, requested_at=999.0, clock=clock)
    after_first = store.songs[BOHEMIAN]
    second = run(store, lookup, requested_at=999.0, clock=clock)
    assert (first.action, second.action) == ("stored", "skipped")
    assert store.songs[BOHEMIAN] == after_first
    assert len(lookup.terms) == 1


def test_a_new_request_refreshes_an_old_result() -> None:
    store = MemoryStore(song(enrich_status="not_found", enriched_at=10.0))
    outcome = run(store, "bohemian_rhapsody", requested_at=500.0, clock=lambda: 501.0)
    assert outcome.action == "stored" and store.songs[BOHEMIAN].enrich_status == "ok"


def test_an_older_result_is_reported_stale_not_stored() -> None:
    newer = song(enrich_status="ok", enriched_at=9000.0, itunes_id=1440650711)
    store = MemoryStore(newer)
    outcome = run(store, "no_results", newer.track_id, clock=lambda: 100.0)
    assert outcome.action == "stale"
    assert store.songs[newer.track_id] == newer
