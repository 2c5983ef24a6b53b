"""The words and names of "Save to Spotify" in the UI (pure functions, no services)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from services.common.contracts.spotify import MAX_NAME_CHARS, SavedPlaylist, SaveResult
from services.common.http import ServiceError
from services.ui.query import SearchState
from services.ui.spotify import returned_outcome
from services.ui.spotify_lists import (
    describe_search,
    list_from_history,
    list_from_results,
    outcome_for,
    playlist_name,
    result_message,
)
from tests.ui.helpers import history_entry, hit, results

DAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_names_follow_the_search():
    assert playlist_name(describe_search("hybrid", "sunset"), DAY) == "PixelPlay · sunset photo · 2026-11-30"
    assert playlist_name(describe_search("image", None), DAY) == "PixelPlay · photo · 2026-11-30"
    assert describe_search("text", "rainy night drive") == "rainy night drive"
    assert describe_search("similar", "Song — Band") == "similar to Song — Band"
    moodboard = describe_search("moodboard", None, "Moodboard of 3 photos · Smooth energy and tempo")
    assert moodboard == "moodboard of 3 photos" and describe_search("moodboard", None) == "moodboard"
    long = playlist_name("x" * 300, DAY)
    assert len(long) == MAX_NAME_CHARS and long.endswith("… · 2026-11-30")


def test_lists_from_results_and_from_history():
    state = results("text", "calm", [hit("a", title="A", artist="B"), hit("c")])
    tracks = list_from_results(state, DAY)
    assert tracks.track_ids == ["a", "c"] and tracks.labels["a"] == "A — B"
    assert tracks.name == "PixelPlay · calm · 2026-11-30" and "calm" in tracks.description
    assert list_from_results(SearchState(), DAY) is None
    entry = history_entry(kind="image", result_track_ids=["x", "y"])
    assert list_from_history(entry, DAY).track_ids == ["x", "y"]
    assert list_from_history(history_entry(kind="text", result_track_ids=[]), DAY) is None


def test_result_message_names_rejected_songs():
    playlist = SavedPlaylist(id="p", name="N", url=None, total=14, added=2, saved_at=DAY)
    rejected = [f"id{i}" for i in range(12)]
    result = SaveResult(status="saved", playlist=playlist, total=14, added=2, rejected=rejected)
    text, kind = result_message(result, {"id0": "Song — Band"})
    assert text.startswith("Saved to Spotify: added 2 of 14 songs to “N”.")
    assert "Spotify did not accept: Song — Band, id1," in text and "and 2 more" in text
    assert kind == "error"


def test_outcome_of_the_return_trip():
    assert returned_outcome(SimpleNamespace(query_params={"spotify": "connected"}, headers={})) == "connected"
    via_referer = SimpleNamespace(
        query_params={}, headers={"referer": "http://127.0.0.1:7860/?spotify=denied"}
    )
    assert returned_outcome(via_referer) == "denied"
    assert returned_outcome(None) is None
    assert outcome_for(ServiceError("auth", 401, "")) == "signin"
    assert outcome_for(ServiceError("auth", 404, "")) == "off"
    assert outcome_for(ServiceError("auth", 403, "You chose not to give PixelPlay access")) == "denied"
    assert outcome_for(ServiceError("auth", 400, "not started from")) == "refused"
    assert outcome_for(ServiceError("auth", 502, "Spotify is having trouble")) == "unavailable"
