"""The moodboard screen's pure pieces: its heading and the checks made before calling search."""

from __future__ import annotations

from services.common.moodboard import MAX_PHOTOS

from services.ui.images import Upload
from services.ui.moodboard import Moodboard, heading, replay, usable


def test_heading_says_the_order_and_what_it_changed():
    jumps = {"ranked": {"energy": 0.14, "tempo": 13.2}, "ordered": {"energy": 0.06, "tempo": 5.4}}
    page = {"order": "arc", "photos_used": 3, "jumps": jumps}
    assert heading(page) == (
        "Moodboard of 3 photos · Arc: open, build, peak, close "
        "(energy changes 0.06 per song instead of 0.14, tempo 5 BPM instead of 13)"
    )
    assert heading(page | {"order": "ranked"}) == "Moodboard of 3 photos · Best match first"


def test_replay_keeps_the_vector_rounded_with_its_model_and_order():
    stored = replay({"query_vector": [0.12345678, -0.5], "model_id": "m", "photos_used": 2}, "smooth")
    assert stored == {"query_vector": [0.123457, -0.5], "model_id": "m", "order": "smooth", "photos": 2}


class NoBackend:
    """Any call to a service fails the test: these answers come before search is asked."""

    settings = None

    def __getattr__(self, name):
        raise AssertionError(f"the backend was called ({name})")


class FakeCallbacks:
    backend = NoBackend()
    settings = None


def test_too_few_or_too_many_photos_are_refused_before_any_search(tmp_path):
    files = []
    for i in range(MAX_PHOTOS + 1):
        path = tmp_path / f"p{i}.png"
        path.write_bytes(b"x")
        files.append(str(path))
    board = Moodboard(FakeCallbacks())  # type: ignore[arg-type]
    one = board.make({"token": "t"}, files[:1], None, None, None, None, None)
    assert "Add 2 to 6 photos; you added 1." in one["notice"]
    seven = board.make({"token": "t"}, files, None, None, None, None, None)
    assert "you added 7" in seven["notice"]
    assert "you added 0" in board.make({"token": "t"}, None, None, None, None, None, None)["notice"]


def test_a_rejected_photo_is_matched_by_position_not_by_its_file_name():
    same_name = [Upload(bytes([i]) * 8, "image.jpg", "image/jpeg") for i in range(3)]
    rejected = [{"index": 1, "filename": "image.jpg", "reason": "not an image"}]
    assert usable(same_name, rejected) == [same_name[0], same_name[2]]
    assert usable(same_name, []) == same_name
