"""Thumbs up / down on result cards: what the UI sends to search and stores in the history.

The backend is a recording stand-in (no services), so these tests pin the UI's side of the
contract; tests/search/test_feedback.py covers the search side on both storage backends.
"""

from __future__ import annotations

import csv
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from services.common.contracts.auth import HistoryEntry, HistoryIn, HistoryPage
from services.common.contracts.search import SearchPage
from services.ui.cards import card_html
from services.ui.context import Limits
from services.ui.exports import exports
from services.ui.handlers import Handlers
from services.ui.query import Query, SearchState
from tests.ui.helpers import hit

SESSION = {"token": "tok", "user": None}
VECTOR = [0.6, 0.8, 0.0]


class RecordingSearch:
    def __init__(self):
        self.calls: list[tuple[str, Any]] = []

    def feedback(
        self, vector, *, positive_track_ids, negative_track_ids, filters, limit, offset=0, model_id=None
    ):
        ratings = {"positive_track_ids": positive_track_ids, "negative_track_ids": negative_track_ids}
        self.calls.append(("feedback", dict(vector=vector, ratings=ratings, filters=filters, offset=offset,
                                            model_id=model_id)))  # fmt: skip
        start = 100 + offset
        hits = [hit(f"r{i}") for i in range(start, start + limit)]
        return SearchPage(hits=hits, offset=offset, limit=limit, next_offset=offset + limit,
                          query_vector=vector, model_id=model_id)  # fmt: skip


class RecordingAuth:
    def __init__(self):
        self.saved: list[HistoryIn] = []

    def add_history(self, token, entry: HistoryIn) -> HistoryEntry:
        self.saved.append(entry)
        return stored(entry, str(len(self.saved)))

    def history(self, token, limit, offset=0) -> HistoryPage:
        items = [stored(e, str(i)) for i, e in enumerate(reversed(self.saved))]
        return HistoryPage(items=items, total=len(items), offset=offset, limit=limit)


def stored(entry: HistoryIn, name: str) -> HistoryEntry:
    body = entry.model_dump(mode="json", warnings=False)
    return HistoryEntry.model_validate(
        body | {"id": uuid.uuid5(uuid.NAMESPACE_OID, name), "created_at": datetime.now(UTC)}
    )


@pytest.fixture
def ui():
    limits = Limits(
        page_size=10, history_limit=20, max_upload_bytes=1 << 20, thumbnail_px=96, session_max_age_s=60
    )
    ctx = SimpleNamespace(search=RecordingSearch(), auth=RecordingAuth(), limits=limits)
    return Handlers.build(ctx), ctx  # type: ignore[arg-type]


def first_state(**song: Any) -> SearchState:
    query = Query(kind="text", text="rain", filters={"genres": ["pop"]}, vector=VECTOR, model_id="m1")
    hits = [hit(f"t{i}", **(song if i == 1 else {})) for i in range(5)]
    return SearchState(query, tuple(hits), "Songs for “rain”", next_offset=5)


def click(ui: Handlers, state: SearchState, action: str, track_id: str) -> dict[str, Any]:
    evt = SimpleNamespace(_data={"action": action, "track_id": track_id})
    return ui.search.card_action(SESSION, state, evt)


def test_cards_offer_thumbs_buttons():
    html = card_html(hit("abc").song)
    assert 'data-action="like" data-track-id="abc"' in html
    assert 'data-action="dislike" data-track-id="abc"' in html


def test_dislike_refines_the_results_and_is_stored_in_history(ui):
    cb, ctx = ui
    out = click(cb, first_state(), "dislike", "t0")
    name, call = ctx.search.calls[-1]
    assert name == "feedback" and call["vector"] == VECTOR and call["offset"] == 0
    assert call["ratings"] == {"positive_track_ids": [], "negative_track_ids": ["t0"]}
    assert call["filters"] == {"genres": ["pop"]} and call["model_id"] == "m1"
    state = out["search_state"]
    assert state.query.kind == "feedback" and state.hits[0].song.track_id == "r100"
    assert "refined by 0 liked and 1 disliked" in state.heading
    entry = ctx.auth.saved[-1]
    assert entry.kind == "feedback" and entry.text == "rain"
    assert entry.feedback["negative_track_ids"] == ["t0"]
    assert entry.feedback["query_vector"] == VECTOR and entry.feedback["model_id"] == "m1"
    assert entry.result_track_ids[:2] == ["r100", "r101"]


def test_ratings_accumulate_and_load_more_stays_refined(ui):
    cb, ctx = ui
    state = click(cb, first_state(), "dislike", "t0")["search_state"]
    state = click(cb, state, "like", "r101")["search_state"]
    assert ctx.search.calls[-1][1]["ratings"] == {
        "positive_track_ids": ["r101"],
        "negative_track_ids": ["t0"],
    }
    assert ctx.search.calls[-1][1]["vector"] == VECTOR  # always the original query, never drifting
    assert state.heading == "Songs for “rain” · refined by 1 liked and 1 disliked"
    more = cb.search.load_more(state)
    name, call = ctx.search.calls[-1]
    assert name == "feedback" and call["offset"] == state.next_offset
    assert call["ratings"]["negative_track_ids"] == ["t0"]
    assert len(more["search_state"].hits) == len(state.hits) + ctx.limits.page_size


def test_rerun_of_a_feedback_entry_repeats_the_refined_search(ui):
    cb, ctx = ui
    click(cb, first_state(), "dislike", "t0")
    entry = stored(ctx.auth.saved[-1], "1")
    out = cb.history.rerun(SESSION, entry, None, None)
    name, call = ctx.search.calls[-1]
    assert name == "feedback" and call["vector"] == VECTOR and call["model_id"] == "m1"
    assert call["ratings"] == {"positive_track_ids": [], "negative_track_ids": ["t0"]}
    assert out["search_state"].query.kind == "feedback"


def test_rating_without_a_query_is_a_notice_not_a_crash(ui):
    cb, ctx = ui
    out = click(cb, SearchState(Query(kind="text", text="rain"), (hit("t1"),)), "like", "t1")
    assert "Run a search first" in out["notice"] and ctx.search.calls == []
    assert "Run a search first" in click(cb, SearchState(), "like", "t1")["notice"]


def test_exports_follow_the_songs_on_screen():
    state = first_state(preview_url="https://audio-ssl.itunes.apple.com/t1.m4a")
    out = exports(state)
    m3u, csv_path = out["export_m3u"]["value"], out["export_csv"]["value"]
    assert m3u.endswith("pixelplay.m3u8") and csv_path.endswith("pixelplay.csv")
    lines = Path(m3u).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U" and "https://audio-ssl.itunes.apple.com/t1.m4a" in lines
    assert sum(line.startswith("# no preview:") for line in lines) == 4
    with open(csv_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert [r[0] for r in rows[1:]] == [f"Title t{i}" for i in range(5)]
    assert out["export_links"].splitlines() == [f"https://open.spotify.com/track/t{i}" for i in range(5)]
    assert out["result_tools"]["visible"] is True
    empty = exports(SearchState())
    assert empty["result_tools"]["visible"] is False and empty["export_links"] == ""
