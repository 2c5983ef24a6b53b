"""Moodboards through the real running encoder and search services: each photo gets the same checks
as a single upload (the encoder decides what is an image), a bad one is named and the others count."""

from __future__ import annotations

import pytest

from services.common.clients.search import SearchClient
from services.common.http import ServiceError


def photos(files, *names: str) -> list[tuple[str, bytes, str]]:
    return [(f"{name}.png", files[name].read_bytes(), "image/png") for name in names]


@pytest.fixture
def search(ui_stack):
    client = SearchClient(ui_stack.env["PIXELPLAY_SEARCH_URL"])
    yield client
    client.close()


def test_the_encoder_names_the_photo_it_cannot_read_and_the_others_count(search, photo_files):
    with pytest.raises(ServiceError) as refused:  # the single-photo search's verdict on the same file
        search.search_image(photo_files["broken"].read_bytes(), "broken.png", "image/png")
    assert 400 <= refused.value.status < 500
    board = search.moodboard(photos(photo_files, "sunset", "broken", "night"), order="smooth", limit=10)
    assert board.photos_used == 2 and len(board.hits) == 10
    [rejected] = board.rejected
    assert rejected.filename == "broken.png"
    assert rejected.reason and rejected.reason in refused.value.detail
    assert rejected.index == 1
    both_good = search.moodboard(photos(photo_files, "sunset", "night"), order="smooth", limit=10)
    assert both_good.query_vector == pytest.approx(board.query_vector)


def test_a_moodboard_of_only_bad_photos_is_a_422_naming_each(search, photo_files):
    bad = [("a.png", b"not an image", "image/png"), ("b.png", b"nor this", "image/png")]
    with pytest.raises(ServiceError) as refused:
        search.moodboard(bad)
    assert refused.value.status == 422
    assert "a.png:" in str(refused.value) and "b.png:" in str(refused.value)


def test_two_photos_with_one_file_name_are_told_apart_by_position(search, photo_files):
    names = ("sunset", "broken", "night")
    same_name = [("image.png", photo_files[name].read_bytes(), "image/png") for name in names]
    board = search.moodboard(same_name, limit=5)
    assert board.photos_used == 2
    assert [(r.index, r.filename) for r in board.rejected] == [(1, "image.png")]
