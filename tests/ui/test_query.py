"""The UI's pure pieces: the filters it sends, the ``Query`` value and its history entry, the
screen switch (no services needed)."""

import base64
import uuid
from datetime import UTC, datetime

from services.common.contracts.auth import HistoryEntry, User
from services.common.contracts.search import FilterOptions
from services.ui.images import Upload
from services.ui.query import PLAYLIST_SIZE, Query, Ratings, decode_data_url, filters_from
from services.ui.slots import SIGNED_OUT, view

OPTIONS = FilterOptions(genres=["pop", "rock"], year_min=1957, year_max=2020)


def test_filters_leave_out_what_the_user_did_not_narrow():
    assert filters_from(None, 1957, 2020, OPTIONS) is None
    assert filters_from([], 1957.0, 2020.0, OPTIONS) is None
    assert filters_from(["rock"], 1990, 2020, OPTIONS) == {"genres": ["rock"], "year_min": 1990}
    assert filters_from(None, 1957, 2005.0, OPTIONS) == {"year_max": 2005}


def test_without_the_catalog_range_the_placeholder_sliders_send_no_year():
    assert filters_from(None, 1900, 2030, None) is None
    assert filters_from(["pop"], 1990, 2000, None) == {"genres": ["pop"]}


def test_thumbnail_data_urls_decode_only_when_they_are_base64_images():
    raw = b"\xff\xd8\xffjpeg-bytes"
    assert decode_data_url("data:image/jpeg;base64," + base64.b64encode(raw).decode()) == raw
    assert decode_data_url("data:text/html;base64,PGI+") is None
    assert decode_data_url("data:image/jpeg;base64,@@not base64@@") is None
    assert decode_data_url(None) is None


def test_view_switches_screens_and_forgets_a_dead_session():
    signed_out = view(None, "Your session has expired.")
    assert signed_out["session"] == SIGNED_OUT and signed_out["auth_view"]["visible"] is True
    assert signed_out["app_view"]["visible"] is False and "expired" in signed_out["notice"]
    assert signed_out["auth_tabs"]["selected"] == "signin"
    ann = User(id=uuid.uuid4(), username="<ann>", email="ann@example.com", created_at=datetime.now(UTC))
    signed_in = view({"token": "t", "user": ann})
    assert signed_in["app_view"]["visible"] is True and "auth_tabs" not in signed_in
    assert "&lt;ann&gt;" in signed_in["user_badge"] and signed_in["notice"] == ""


def test_history_entry_carries_fingerprint_and_thumbnail_of_the_photo(tmp_path):
    from tests.photos import photo_png

    data = photo_png("night")
    query = Query.from_form("stars", 0.4, None, Upload(data, "n.png", "image/png"), 96)
    entry = query.to_history(["a", "b"])
    assert entry.kind == "hybrid" and entry.weight == 0.4 and entry.result_track_ids == ["a", "b"]
    assert len(entry.image_fingerprint) == 64 and entry.thumbnail.startswith("data:image/jpeg;base64,")
    text = Query.from_form("x", 0.4, None, None, 96).to_history([])
    assert text.kind == "text" and text.thumbnail is None and text.weight is None


def _stored(query: Query, ids: list[str]) -> HistoryEntry:
    """What auth gives back for the entry the query wrote (validated like the service does)."""
    body = query.to_history(ids).model_dump(mode="json", warnings=False)
    return HistoryEntry.model_validate(body | {"id": uuid.uuid4(), "created_at": datetime.now(UTC)})


def test_a_refined_search_runs_again_from_its_history_entry():
    first = Query(kind="similar", text="Song — Band", source_track_id="s1", source_label="Song — Band")
    first = first.model_copy(update={"vector": [0.1234567, 0.5], "model_id": "m1"})
    rated = first.rated("t0", liked=False, heading="Similar to Song — Band")
    assert rated.kind == "feedback" and rated.base_kind == "similar"
    # The source of a "similar" list is liked by definition.
    assert rated.ratings == Ratings(positive_track_ids=("s1",), negative_track_ids=("t0",))
    entry = _stored(rated, ["r1"])
    assert entry.feedback["query_vector"] == [0.123457, 0.5] and entry.feedback["model_id"] == "m1"
    again = Query.from_history(entry)
    assert (again.kind, again.ratings, again.source_label) == (
        "feedback",
        rated.ratings,
        "Similar to Song — Band",
    )
    assert again.vector == [0.123457, 0.5] and again.runs_without_photo()


def test_a_moodboard_keeps_its_vector_rounded_with_its_model_and_order():
    board = Query(
        kind="moodboard", text="2 photos", order="smooth", photos=2, vector=[0.12345678, -0.5], model_id="m"
    )
    entry = _stored(board, [])
    assert entry.feedback == {
        "query_vector": [0.123457, -0.5],
        "model_id": "m",
        "order": "smooth",
        "photos": 2,
    }
    again = Query.from_history(entry)
    assert (again.order, again.photos, again.model_id) == ("smooth", 2, "m") and again.runs_without_photo()


def test_ratings_move_a_song_between_up_and_down():
    r = Ratings().rate("a", True).rate("b", False)
    assert r == Ratings(positive_track_ids=("a",), negative_track_ids=("b",))
    assert r.rate("a", False) == Ratings(positive_track_ids=(), negative_track_ids=("b", "a"))
    assert Ratings.from_stored({"positive_track_ids": [1, "x"]}) == Ratings(positive_track_ids=("x",))


def test_a_photo_search_needs_its_photo_to_run_again():
    photo = _stored(Query(kind="image", image_fingerprint="f" * 64), ["a"])
    assert not Query.from_history(photo).runs_without_photo()
    assert Query.from_history(_stored(Query(kind="text", text="rain"), ["a"])).runs_without_photo()


def test_a_moodboard_runs_again_as_its_whole_playlist_whatever_the_page_size():
    asked: dict = {}

    class Search:
        def moodboard_again(self, vector, **kwargs):
            asked.update(kwargs, vector=vector)
            return "page"

    board = Query(kind="moodboard", vector=[0.5, 0.5], model_id="m", order="arc")
    assert board.run(Search(), limit=7) == "page"  # type: ignore[arg-type]
    assert asked == {
        "vector": [0.5, 0.5],
        "model_id": "m",
        "order": "arc",
        "filters": None,
        "limit": PLAYLIST_SIZE,
    }
