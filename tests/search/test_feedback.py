"""Thumbs up / down through the real search app, on both storage backends (edge and server).

The stand-in encoder's vectors are known functions of each song's description, so the expected
ranking is recomputed here with numpy and compared with what the service returns.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.search.conftest import index_songs, pseudo_vector


def song_vectors(encoder, songs) -> dict[str, np.ndarray]:
    return {
        s.track_id: np.asarray(pseudo_vector(f"{encoder.id}|{s.description}", encoder.dim)) for s in songs
    }


def first_page(client, limit: int = 10) -> dict:
    answer = client.post(
        "/search/text", json={"text": "rain on a window", "limit": limit, "diversity": "off"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def feedback(client, page: dict, up=(), down=(), **extra):
    body = {"vector": page["query_vector"], "positive_track_ids": list(up), "negative_track_ids": list(down),
            "limit": 10, "diversity": "off", **extra}  # fmt: skip
    return client.post("/search/feedback", json=body)


def expected_ids(vectors: dict[str, np.ndarray], positives, negatives, exclude, k: int = 10) -> list[str]:
    """Best-score recommend: a song counts only when its best positive beats its best negative,
    then ranks by that best positive similarity."""
    scored = []
    for tid, vec in vectors.items():
        if tid in exclude:
            continue
        best_pos = max(float(vec @ p) for p in positives)
        best_neg = max((float(vec @ n) for n in negatives), default=-np.inf)
        if best_pos > best_neg:
            scored.append((-round(best_pos, 6), tid))  # the service's tie rule: 6 decimals, then id
    return [tid for _, tid in sorted(scored)[:k]]


def anchors(
    vectors: dict[str, np.ndarray], query: np.ndarray, exclude: set[str], k: int = 3
) -> list[np.ndarray]:
    """The query's best k unrated songs: they stand for the query among song vectors."""
    ranked = sorted((-float(v @ query), tid) for tid, v in vectors.items() if tid not in exclude)
    return [vectors[tid] for _, tid in ranked[:k]]


def test_down_only_feedback_keeps_the_query_and_pushes_away(client, encoder, catalog_slice):
    page = first_page(client)
    vectors = song_vectors(encoder, catalog_slice)
    query = np.asarray(page["query_vector"])
    disliked = page["hits"][0]["song"]["track_id"]
    answer = feedback(client, page, down=[disliked])
    assert answer.status_code == 200, answer.text
    got = [h["song"]["track_id"] for h in answer.json()["hits"]]
    assert disliked not in got
    positives = [query, *anchors(vectors, query, {disliked})]
    assert got == expected_ids(vectors, positives, [vectors[disliked]], {disliked})
    # The query still leads: its best unrated songs come first, whatever the disliked song is like.
    plain = [
        h["song"]["track_id"] for h in first_page(client, 11)["hits"] if h["song"]["track_id"] != disliked
    ]
    assert set(got[:3]) == set(plain[:3])  # each scores 1.0 (itself), so they tie and sort by id
    # Every song shown is nearer the query's side (query or its best songs) than the disliked song.
    assert all(
        max(float(vectors[t] @ p) for p in positives) > float(vectors[t] @ vectors[disliked]) for t in got
    )
    # Not just the old page minus one: songs of the plain ranking were pushed out.
    assert got != plain[:10]
    assert answer.json()["query_vector"] == pytest.approx(page["query_vector"])


def test_up_and_down_feedback_ranks_by_best_positive(client, encoder, catalog_slice):
    page = first_page(client)
    vectors = song_vectors(encoder, catalog_slice)
    liked, disliked = page["hits"][3]["song"]["track_id"], page["hits"][0]["song"]["track_id"]
    answer = feedback(client, page, up=[liked], down=[disliked])
    assert answer.status_code == 200, answer.text
    got = [h["song"]["track_id"] for h in answer.json()["hits"]]
    query = np.asarray(page["query_vector"])
    positives = [query, *anchors(vectors, query, {liked, disliked}), vectors[liked]]
    assert got == expected_ids(vectors, positives, [vectors[disliked]], {liked, disliked})
    # Refined pages are explained like any page: 1-3 of each song's own phrases.
    assert all(1 <= len(h["explanation"]) <= 3 and set(h["explanation"]) <= set(h["song"]["descriptors"])
               for h in answer.json()["hits"])  # fmt: skip


def test_feedback_without_ratings_equals_the_plain_search(client):
    page = first_page(client)
    answer = feedback(client, page)
    assert [h["song"]["track_id"] for h in answer.json()["hits"]] == [
        h["song"]["track_id"] for h in page["hits"]
    ]


def test_feedback_pages_do_not_repeat(client):
    page = first_page(client)
    down = [page["hits"][0]["song"]["track_id"]]
    first = feedback(client, page, down=down, diversity="artist").json()
    second = feedback(client, page, down=down, diversity="artist", offset=first["next_offset"]).json()
    ids = [h["song"]["track_id"] for h in first["hits"] + second["hits"]]
    assert len(ids) == 20 == len(set(ids))


def test_bad_feedback_is_a_clear_4xx(client, encoder):
    page = first_page(client)
    some = page["hits"][0]["song"]["track_id"]
    unknown = feedback(client, page, down=["no-such-track"])
    assert unknown.status_code == 404 and "no-such-track" in unknown.json()["detail"]
    both = feedback(client, page, up=[some], down=[some])
    assert both.status_code == 422 and "both up and down" in both.json()["detail"]
    wrong_size = client.post("/search/feedback", json={"vector": [0.1, 0.2], "negative_track_ids": [some]})
    assert wrong_size.status_code == 422 and "dimensions" in wrong_size.json()["detail"]
    zero = client.post("/search/feedback", json={"vector": [0.0] * encoder.dim, "negative_track_ids": [some]})
    assert zero.status_code == 422
    too_many = client.post("/search/feedback", json={"vector": page["query_vector"], "limit": 10_000})
    assert too_many.status_code == 422


def test_service_caps_artists_across_pages_by_default(empty_client, encoder, catalog_slice):
    """Twenty songs by one artist: the default diversity shows two of them over all pages."""
    songs = [
        s.model_copy(update={"artist": "Solo Artist"}) if i < 20 else s for i, s in enumerate(catalog_slice)
    ]
    index_songs(empty_client, encoder, songs)
    seen: list[dict] = []
    offset = 0
    for _ in range(30):  # bounded walk through every page
        body = {"text": "anything", "limit": 25, "offset": offset}
        answer = empty_client.post("/search/text", json=body).json()
        seen += [h["song"] for h in answer["hits"]]
        if answer["next_offset"] is None:
            break
        offset = answer["next_offset"]
    ids = [s["track_id"] for s in seen]
    assert len(ids) == len(set(ids))
    assert sum(s["artist"] == "Solo Artist" for s in seen) == 2
    plain = []
    for off in (0, 100, 200):  # without the cap all twenty are there
        body = {"text": "anything", "limit": 100, "offset": off, "diversity": "off"}
        plain += empty_client.post("/search/text", json=body).json()["hits"]
    assert len(plain) == 300 and sum(h["song"]["artist"] == "Solo Artist" for h in plain) == 20
