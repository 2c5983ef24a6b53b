"""The moodboard screen's pure pieces: its heading and the checks made before calling search."""

from __future__ import annotations

from types import SimpleNamespace

from services.common.contracts.search import MAX_PHOTOS, MoodboardPage, RejectedPhoto
from services.ui.headings import moodboard_heading
from services.ui.images import Upload
from services.ui.moodboard import Moodboard, usable
from services.ui.query import Query


def test_heading_says_the_order_and_what_it_changed():
    jumps = {"ranked": {"energy": 0.14, "tempo": 13.2}, "ordered": {"energy": 0.06, "tempo": 5.4}}
    fields = {
        "hits": [],
        "offset": 0,
        "limit": 20,
        "next_offset": None,
        "query_vector": [1.0],
        "model_id": "m",
    }
    page = MoodboardPage(**fields, order="arc", photos_used=3, jumps=jumps)
    assert moodboard_heading(page) == (
        "Moodboard of 3 photos · Arc: open, build, peak, close "
        "(energy changes 0.06 per song instead of 0.14, tempo 5 BPM instead of 13)"
    )
    ranked = page.model_copy(update={"order": "ranked"})
    assert moodboard_heading(ranked) == "Moodboard of 3 photos · Best match first"
    # Made again from its vector: the count of the original photos, through its query.
    assert Query(kind="moodboard", photos=4).heading(ranked) == "Moodboard of 4 photos · Best match first"


class NoServices:
    """Any call to a service fails the test: these answers come before search is asked."""

    def __getattr__(self, name):
        raise AssertionError(f"a service was called ({name})")


def test_too_few_or_too_many_photos_are_refused_before_any_search(tmp_path):
    files = []
    for i in range(MAX_PHOTOS + 1):
        path = tmp_path / f"p{i}.png"
        path.write_bytes(b"x")
        files.append(str(path))
    board = Moodboard(SimpleNamespace(search=NoServices(), auth=NoServices()), NoServices())  # type: ignore[arg-type]
    one = board.make({"token": "t"}, files[:1], None, None, None, None, None)
    assert "Add 2 to 6 photos; you added 1." in one["notice"]
    seven = board.make({"token": "t"}, files, None, None, None, None, None)
    assert "you added 7" in seven["notice"]
    assert "you added 0" in board.make({"token": "t"}, None, None, None, None, None, None)["notice"]


def test_a_rejected_photo_is_matched_by_position_not_by_its_file_name():
    same_name = [Upload(bytes([i]) * 8, "image.jpg", "image/jpeg") for i in range(3)]
    rejected = [RejectedPhoto(index=1, filename="image.jpg", reason="not an image")]
    assert usable(same_name, rejected) == [same_name[0], same_name[2]]
    assert usable(same_name, []) == same_name
