""" "Find similar" by description and sound: the audio vector, its scaling and the fused query."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from services.common.catalog import load_catalog
from services.common.contracts.songs import Song
from services.search.audio import AUDIO_DIM, CATALOG_SCALING, CLIP_Z, audio_distance, audio_vector
from services.search.settings import get_settings
from tests.search.conftest import index_songs


def similar(client: TestClient, track_id: str, **body) -> dict:
    answer = client.post("/search/similar", json={"track_id": track_id, "diversity": "off", **body})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_scaling_constants_are_the_bundled_catalogs_own():
    songs, _ = load_catalog(Path(get_settings().catalog_path))
    for name, mean, std in CATALOG_SCALING:
        values = np.asarray([getattr(s, name) for s in songs if getattr(s, name) is not None], dtype=float)
        assert values.mean() == pytest.approx(mean, abs=1e-3), name
        assert values.std() == pytest.approx(std, abs=1e-3), name


def test_audio_vector_is_z_scores_clipped_and_needs_most_features():
    means = {name: mean for name, mean, _ in CATALOG_SCALING}
    assert audio_vector(means) == [0.0] * AUDIO_DIM
    one_std_louder = means | {"loudness": means["loudness"] + CATALOG_SCALING[-1][2]}
    assert audio_vector(one_std_louder)[-1] == pytest.approx(1.0)
    assert audio_distance(means, one_std_louder) == pytest.approx(1.0)
    assert audio_vector(means | {"loudness": -60.0})[-1] == -CLIP_Z
    # Missing values read as the mean; more than half missing (or not numbers): no vector at all.
    assert audio_vector(means | {"tempo": None, "energy": "loud"})[1:4] == [0.0, 0.0, 0.0]
    sparse = {name: means[name] for name in list(means)[: AUDIO_DIM // 2]}
    assert audio_vector(sparse) is None
    assert audio_vector(means | {"energy": math.nan})[1] == 0.0


def audio_neighbours(songs: list[Song], source: Song, k: int) -> list[str]:
    """The k songs nearest ``source`` by audio distance, computed here (the oracle)."""
    payload = source.model_dump()
    scored = [
        (audio_distance(payload, s.model_dump()), s.track_id) for s in songs if s.track_id != source.track_id
    ]
    return [t for d, t in sorted((d, t) for d, t in scored if d is not None)[:k]]


def test_sound_only_gives_the_nearest_songs_by_audio_features(ro_client: TestClient, catalog_slice):
    source = catalog_slice[5]
    page = similar(ro_client, source.track_id, audio_weight=1.0, limit=10)
    assert page["audio_weight"] == 1.0
    assert [h["song"]["track_id"] for h in page["hits"]] == audio_neighbours(catalog_slice, source, 10)


def test_description_only_is_todays_similar_and_the_mix_moves_toward_sound(
    ro_client: TestClient, catalog_slice
):
    source = catalog_slice[7]
    by_text = similar(ro_client, source.track_id, audio_weight=0.0, limit=10)
    assert by_text["audio_weight"] == 0.0
    # Today's "similar" is the nearest description vectors: the same ranking as a vector search.
    vector = by_text["query_vector"]
    plain = ro_client.post("/search/vector", json={"vector": vector, "limit": 11, "diversity": "off"}).json()
    expected = [h["song"]["track_id"] for h in plain["hits"] if h["song"]["track_id"] != source.track_id][:10]
    assert [h["song"]["track_id"] for h in by_text["hits"]] == expected

    def mean_distance(page: dict) -> float:
        return float(np.mean([audio_distance(source.model_dump(), h["song"]) for h in page["hits"]]))

    mixed = similar(ro_client, source.track_id, audio_weight=0.5, limit=10)
    by_sound = similar(ro_client, source.track_id, audio_weight=1.0, limit=10)
    assert mean_distance(by_sound) <= mean_distance(mixed) <= mean_distance(by_text)
    assert mean_distance(by_sound) < mean_distance(by_text)


def test_the_default_mix_is_the_setting_and_pages_never_repeat(ro_client: TestClient, catalog_slice):
    source = catalog_slice[11].track_id
    first = similar(ro_client, source, limit=20)
    assert first["audio_weight"] == get_settings().similar_audio_weight
    second = similar(ro_client, source, limit=20, offset=20)
    ids = [h["song"]["track_id"] for h in first["hits"] + second["hits"]]
    assert len(ids) == len(set(ids)) == 40 and source not in ids


def test_filters_hold_for_fused_results(ro_client: TestClient, catalog_slice):
    page = similar(ro_client, catalog_slice[3].track_id, filters={"genres": ["rock"]}, limit=15)
    assert page["hits"] and all("rock" in h["song"]["genres"] for h in page["hits"])


def test_a_song_without_audio_features_falls_back_to_its_description(
    client: TestClient, encoder, catalog_slice
):
    bare = catalog_slice[0].model_copy(
        update={"track_id": "no-audio-0001", "danceability": None, "energy": None, "valence": None,
                "tempo": None, "acousticness": None, "loudness": None}
    )  # fmt: skip
    index_songs(client, encoder, [bare])
    page = similar(client, bare.track_id, audio_weight=0.7, limit=5)
    assert page["audio_weight"] == 0.0 and len(page["hits"]) == 5
    # As a candidate it is still found by description, never by a made-up sound.
    assert audio_vector(bare.model_dump()) is None


def test_bad_audio_weight_is_422(ro_client: TestClient, catalog_slice):
    answer = ro_client.post(
        "/search/similar", json={"track_id": catalog_slice[0].track_id, "audio_weight": 1.5}
    )
    assert answer.status_code == 422 and "audio_weight" in answer.text
