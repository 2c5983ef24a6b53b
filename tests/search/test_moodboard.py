"""Moodboards through the search API on both backends: the combined query, the orderings and
their measured jumps, per-photo validation, and the replay from a stored vector."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from services.common.contracts.songs import Song
from services.search.moodboard import combine, mean_jump, order_songs
from services.search.vectors import normalise
from tests.songs import make_song


def png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, "PNG")
    return out.getvalue()


PHOTOS = [png((250, 200, 40)), png((20, 30, 90)), png((30, 160, 60))]


def upload(client: TestClient, photos: list[tuple[str, bytes]], **form) -> dict | TestClient:
    files = [("files", (name, data, "image/png")) for name, data in photos]
    return client.post("/search/moodboard", files=files, data={k: str(v) for k, v in form.items()})


def ok(answer) -> dict:
    assert answer.status_code == 200, answer.text
    return answer.json()


def song(i: int, energy: float | None, tempo: float | None) -> Song:
    return make_song(f"t{i}", artist=f"a{i}", energy=energy, tempo=tempo)


def test_combine_is_the_normalised_mean_of_unit_vectors():
    assert combine([[2.0, 0.0], [0.0, 5.0]]) == pytest.approx([2**-0.5, 2**-0.5])
    with pytest.raises(ValueError, match="cancel each other"):
        combine([[1.0, 0.0], [-3.0, 0.0]])


def test_orders_keep_every_song_and_smooth_or_arc_as_promised():
    rng = np.random.default_rng(3)
    songs = [song(i, float(rng.uniform(0.2, 1.0)), float(rng.uniform(70, 180))) for i in range(20)]
    smooth = order_songs(songs, songs, "smooth")
    arc = order_songs(songs, songs, "arc")
    assert (
        sorted(s.track_id for s in smooth)
        == sorted(s.track_id for s in arc)
        == sorted(s.track_id for s in songs)
    )
    assert smooth[0] is songs[0]  # the best match still opens the playlist
    assert mean_jump(smooth).energy < mean_jump(songs).energy
    assert mean_jump(smooth).tempo < mean_jump(songs).tempo
    intensity = [s.energy / 0.1835 + s.tempo / 26.9449 for s in arc]
    peak = intensity.index(max(intensity))
    assert 0.5 * len(arc) <= peak <= 0.8 * len(arc)  # open, build, peak at about two thirds, close
    assert intensity[:peak] == sorted(intensity[:peak]) and intensity[peak:] == sorted(intensity[peak:])[::-1]
    assert order_songs(songs, songs, "ranked") == songs
    assert mean_jump([songs[0]]).energy == 0.0


def test_moodboard_is_the_mean_query_and_reports_its_jumps(ro_client: TestClient):
    encoder = ro_client.app.state.encoder
    page = ok(upload(ro_client, [(f"p{i}.png", d) for i, d in enumerate(PHOTOS)], limit=15, diversity="off"))
    assert page["photos_used"] == 3 and page["rejected"] == [] and page["next_offset"] is None
    expected = combine([encoder.encode_image(d) for d in PHOTOS])
    assert page["query_vector"] == pytest.approx(expected)
    same = ok(ro_client.post("/search/vector", json={"vector": expected, "limit": 15, "diversity": "off"}))
    assert [h["song"]["track_id"] for h in page["hits"]] == [h["song"]["track_id"] for h in same["hits"]]
    assert page["jumps"]["ranked"] == page["jumps"]["ordered"]
    songs = [Song.model_validate(h["song"]) for h in page["hits"]]
    assert page["jumps"]["ranked"] == mean_jump(songs).model_dump()


def test_smooth_order_reorders_the_same_songs_with_smaller_jumps(ro_client: TestClient):
    photos = [(f"p{i}.png", d) for i, d in enumerate(PHOTOS)]
    ranked = ok(upload(ro_client, photos, limit=20))
    smooth = ok(upload(ro_client, photos, limit=20, order="smooth"))
    ids = lambda p: [h["song"]["track_id"] for h in p["hits"]]  # noqa: E731
    assert sorted(ids(smooth)) == sorted(ids(ranked)) and ids(smooth)[0] == ids(ranked)[0]
    assert smooth["jumps"]["ordered"]["energy"] < smooth["jumps"]["ranked"]["energy"]
    assert smooth["order"] == "smooth"


def test_a_bad_photo_is_named_and_the_others_still_count(ro_client: TestClient, search_env_limits):
    big = b"\x89PNG" + b"0" * search_env_limits
    answer = ok(upload(ro_client, [("beach.png", PHOTOS[0]), ("empty.png", b""), ("huge.png", big),
                                  ("rain.png", PHOTOS[1])]))  # fmt: skip
    assert answer["photos_used"] == 2
    assert {r["filename"]: r["reason"] for r in answer["rejected"]} == {
        "empty.png": "the file is empty",
        "huge.png": f"the image is larger than {search_env_limits} bytes",
    }
    encoder = ro_client.app.state.encoder
    assert answer["query_vector"] == pytest.approx(combine([encoder.encode_image(d) for d in PHOTOS[:2]]))


@pytest.fixture
def search_env_limits(ro_client: TestClient) -> int:
    return ro_client.app.state.settings.max_image_bytes


@pytest.mark.parametrize(
    ("photos", "form", "needle"),
    [
        ([("a.png", PHOTOS[0])], {}, "2 to 6 photos, got 1"),
        ([(f"{i}.png", PHOTOS[0]) for i in range(7)], {}, "2 to 6 photos, got 7"),
        (
            [("a.png", b""), ("b.png", b"")],
            {},
            "none of the photos could be used (a.png: the file is empty; b.png",
        ),
        ([("a.png", PHOTOS[0]), ("b.png", PHOTOS[1])], {"order": "random"}, "ranked"),
        ([("a.png", PHOTOS[0]), ("b.png", PHOTOS[1])], {"filters": "{bad"}, "filters is not valid JSON"),
        ([("a.png", PHOTOS[0]), ("b.png", PHOTOS[1])], {"limit": 1000}, "maximum page size"),
    ],
)
def test_bad_moodboards_are_422_with_a_message(ro_client: TestClient, photos, form, needle):
    answer = upload(ro_client, photos, **form)
    assert answer.status_code == 422 and needle in answer.text, answer.text


def test_a_stored_moodboard_plays_again_from_its_vector(ro_client: TestClient):
    photos = [(f"p{i}.png", d) for i, d in enumerate(PHOTOS)]
    first = ok(upload(ro_client, photos, limit=12, order="arc"))
    body = {"vector": first["query_vector"], "model_id": first["model_id"], "order": "arc", "limit": 12}
    again = ok(ro_client.post("/search/moodboard/vector", json=body))
    assert [h["song"]["track_id"] for h in again["hits"]] == [h["song"]["track_id"] for h in first["hits"]]
    assert again["jumps"] == first["jumps"]
    other_model = ro_client.post("/search/moodboard/vector", json=body | {"model_id": "other:model"})
    assert other_model.status_code == 409
    zero = ro_client.post("/search/moodboard/vector", json=body | {"vector": [0.0] * len(body["vector"])})
    assert zero.status_code == 422
    assert normalise(again["query_vector"]) == pytest.approx(again["query_vector"])
