"""Thumbs up / down on result cards: what the UI sends to search and stores in the history.

The backend is a recording stand-in (no services), so these tests pin the UI's side of the
contract; tests/search/test_feedback.py covers the search side on both storage backends.
"""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from services.ui.callbacks import Callbacks, rate, state_from_page
from services.ui.cards import card_html, hits_songs
from services.ui.settings import UISettings
from tests.ui.helpers import hit

SESSION = {"token": "tok", "user": {"username": "ann"}}
VECTOR = [0.6, 0.8, 0.0]


class RecordingBackend:
    def __init__(self, settings):
        self.settings = settings
        self.calls: list[tuple[str, Any]] = []
        self.saved: list[dict[str, Any]] = []

    def feedback(self, vector, ratings, filters, limit, offset=0, model_id=None):
        self.calls.append(("feedback", dict(vector=vector, ratings=ratings, filters=filters, offset=offset,
                                            model_id=model_id)))  # fmt: skip
        start = 100 + offset
        hits = [hit(f"r{i}") for i in range(start, start + limit)]
        return {"hits": hits, "offset": offset, "limit": limit, "next_offset": offset + limit,
                "query_vector": vector, "model_id": model_id}  # fmt: skip

    def add_history(self, token, entry):
        self.saved.append(entry)
        return entry | {"id": str(len(self.saved))}

    def history(self, token, limit, offset=0):
        return {"items": list(reversed(self.saved)), "total": len(self.saved)}


@pytest.fixture
def ui(isolated_settings):
    backend = RecordingBackend(isolated_settings(UISettings))
    return Callbacks(backend), backend


def first_state() -> dict[str, Any]:
    page = {
        "hits": [hit(f"t{i}") for i in range(5)],
        "query_vector": VECTOR,
        "next_offset": 5,
        "model_id": "m1",
    }
    return state_from_page("text", page, "Songs for “rain”", {"genres": ["pop"]}) | {"text": "rain"}


def click(cb: Callbacks, state: dict, action: str, track_id: str) -> dict[str, Any]:
    evt = SimpleNamespace(_data={"action": action, "track_id": track_id})
    return cb.card_action(SESSION, state, evt)


def test_cards_offer_thumbs_buttons():
    html = card_html(hits_songs([hit("abc")])[0][0])
    assert 'data-action="like" data-track-id="abc"' in html
    assert 'data-action="dislike" data-track-id="abc"' in html


def test_dislike_refines_the_results_and_is_stored_in_history(ui):
    cb, backend = ui
    out = click(cb, first_state(), "dislike", "t0")
    name, call = backend.calls[-1]
    assert name == "feedback" and call["vector"] == VECTOR and call["offset"] == 0
    assert call["ratings"] == {"positive_track_ids": [], "negative_track_ids": ["t0"]}
    assert call["filters"] == {"genres": ["pop"]} and call["model_id"] == "m1"
    state = out["search_state"]
    assert state["kind"] == "feedback" and state["hits"][0]["song"]["track_id"] == "r100"
    assert "refined by 0 liked and 1 disliked" in state["heading"]
    entry = backend.saved[-1]
    assert entry["kind"] == "feedback" and entry["text"] == "rain"
    assert entry["feedback"]["negative_track_ids"] == ["t0"]
    assert entry["feedback"]["query_vector"] == VECTOR and entry["feedback"]["model_id"] == "m1"
    assert entry["result_track_ids"][:2] == ["r100", "r101"]


def test_ratings_accumulate_and_load_more_stays_refined(ui):
    cb, backend = ui
    state = click(cb, first_state(), "dislike", "t0")["search_state"]
    state = click(cb, state, "like", "r101")["search_state"]
    assert backend.calls[-1][1]["ratings"] == {"positive_track_ids": ["r101"], "negative_track_ids": ["t0"]}
    assert backend.calls[-1][1]["vector"] == VECTOR  # always the original query, never drifting
    assert state["heading"] == "Songs for “rain” · refined by 1 liked and 1 disliked"
    more = cb.load_more(state)
    name, call = backend.calls[-1]
    assert name == "feedback" and call["offset"] == state["next_offset"]
    assert call["ratings"]["negative_track_ids"] == ["t0"]
    assert len(more["search_state"]["hits"]) == len(state["hits"]) + cb.settings.page_size


def test_rerun_of_a_feedback_entry_repeats_the_refined_search(ui):
    cb, backend = ui
    click(cb, first_state(), "dislike", "t0")
    entry = backend.saved[-1] | {"id": "1"}
    out = cb._rerun(SESSION, entry, None, None)
    name, call = backend.calls[-1]
    assert name == "feedback" and call["vector"] == VECTOR and call["model_id"] == "m1"
    assert call["ratings"] == {"positive_track_ids": [], "negative_track_ids": ["t0"]}
    assert out["search_state"]["kind"] == "feedback"


def test_rating_without_a_query_is_a_notice_not_a_crash(ui):
    cb, backend = ui
    out = click(cb, {"hits": [hit("t1")], "query_vector": None}, "like", "t1")
    assert "Run a search first" in out["notice"] and backend.calls == []


def test_rate_moves_a_song_between_up_and_down():
    r = rate(None, "a", True)
    r = rate(r, "b", False)
    assert r == {"positive_track_ids": ["a"], "negative_track_ids": ["b"]}
    assert rate(r, "a", False) == {"positive_track_ids": [], "negative_track_ids": ["b", "a"]}
    assert rate({"positive_track_ids": [1, "x"]}, None, True) == {
        "positive_track_ids": ["x"],
        "negative_track_ids": [],
    }


def test_exports_follow_the_songs_on_screen(ui):
    cb, _ = ui
    state = first_state()
    state["hits"][1]["song"]["preview_url"] = "https://audio-ssl.itunes.apple.com/t1.m4a"
    out = cb.exports(state)
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
    empty = cb.exports({"hits": []})
    assert empty["result_tools"]["visible"] is False and empty["export_links"] == ""
