"""The feature → phrase mapping documented in docs/catalog.md."""

from __future__ import annotations

import pytest

from services.common.descriptions import describe, era

BASE = dict(
    genre="pop",
    subgenre="dance pop",
    year=2019,
    energy=0.9,
    valence=0.9,
    tempo=128.0,
    danceability=0.8,
    acousticness=0.02,
    instrumentalness=0.0,
    speechiness=0.05,
)


def test_melancholic_slow_acoustic_song_reads_as_a_ballad_from_its_decade():
    d = describe(
        **{
            **BASE,
            "genre": "r&b",
            "subgenre": "neo soul",
            "year": 1974,
            "energy": 0.2,
            "valence": 0.1,
            "tempo": 70.0,
            "danceability": 0.3,
            "acousticness": 0.8,
        }
    )
    assert d.sentence() == "a melancholic, calm slow acoustic neo soul ballad from the 1970s"
    assert d.phrases() == ["melancholic", "calm", "slow", "acoustic", "neo soul ballad", "from the 1970s"]


def test_euphoric_dance_pop_uses_an_article_by_sound():
    d = describe(**BASE)
    assert d.sentence() == "a euphoric, intense upbeat danceable dance pop song from the late 2010s"


@pytest.mark.parametrize(
    ("value", "word"),
    [
        (0.0, "melancholic"),
        (0.19, "melancholic"),
        (0.2, "wistful"),
        (0.5, "bittersweet"),
        (0.79, "cheerful"),
        (1.0, "euphoric"),
    ],
)
def test_valence_bands(value, word):
    assert describe(**{**BASE, "valence": value}).moods[0] == word


@pytest.mark.parametrize(
    ("value", "word"),
    [(0.1, "calm"), (0.45, "mellow"), (0.6, "lively"), (0.8, "energetic"), (0.95, "intense")],
)
def test_energy_bands(value, word):
    assert describe(**{**BASE, "energy": value}).moods[1] == word


@pytest.mark.parametrize(
    ("bpm", "word"),
    [(60, "slow"), (95, "laid-back"), (120, "mid-tempo"), (140, "upbeat"), (170, "fast")],
)
def test_tempo_bands(bpm, word):
    assert describe(**{**BASE, "tempo": float(bpm)}).tempo == word


def test_textures():
    d = describe(
        **{
            **BASE,
            "genre": "edm",
            "subgenre": "big room",
            "instrumentalness": 0.9,
            "acousticness": 0.01,
            "danceability": 0.5,
        }
    )
    assert d.textures == ("instrumental", "electronic")
    assert "big room EDM track" in d.phrases()
    spoken = describe(**{**BASE, "speechiness": 0.5})
    assert "spoken-word" in spoken.textures
    # Rap is expected to be wordy; saying so adds nothing.
    rap = describe(**{**BASE, "genre": "rap", "subgenre": "trap", "speechiness": 0.5})
    assert "spoken-word" not in rap.textures


def test_missing_features_are_left_out():
    d = describe(
        genre="rock",
        subgenre=None,
        year=None,
        energy=None,
        valence=None,
        tempo=None,
        danceability=None,
        acousticness=None,
        instrumentalness=None,
        speechiness=None,
    )
    assert d.sentence() == "a rock song"
    assert d.phrases() == ["rock song"]


def test_era():
    assert era(1969) == "the 1960s"
    assert era(2003) == "the early 2000s"
    assert era(2018) == "the late 2010s"
    assert era(None) is None


def test_catalog_descriptions_are_richer_than_the_original_18_buckets():
    from services.common.catalog import load_catalog
    from services.common.settings import get_common_settings

    songs, _ = load_catalog(get_common_settings().catalog_path)
    sentences = {s.description for s in songs}
    assert len(sentences) > 18 * 100
    assert all(p in s.description for s in songs[:500] for p in s.descriptors if not p.startswith("from"))
