"""The "Find similar" quality script: its metrics on hand-made lists, then a run on a catalog slice
with the tiny model, where sound-only must beat description-only on audio distance and the random
row must sit at chance."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from scripts import evaluate_similar as es
from services.common.contracts.songs import Song
from tests.fixtures.catalog import CATALOG
from tests.songs import make_song


@pytest.fixture(scope="module")
def spread_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every 40th row of the real catalog (about 800 rows, every genre; the file is sorted by
    playlist, so its first rows are a single genre)."""
    path = tmp_path_factory.mktemp("spread") / "spread.csv"
    with gzip.open(CATALOG, "rt", encoding="utf-8", newline="") as src:
        header, *rows = src.readlines()
    path.write_text(header + "".join(rows[::40]), encoding="utf-8")
    return path


# Every audio feature but energy, the same for every hand-made song.
SAME_FEATURES = dict(danceability=0.65, valence=0.5, tempo=121.0, acousticness=0.18, instrumentalness=0.09)
SAME_FEATURES |= dict(speechiness=0.11, liveness=0.19, loudness=-6.8)


def song(track_id: str, genre: str, artist: str, energy: float) -> Song:
    return make_song(track_id, title=track_id, artist=artist, genre=genre, energy=energy, **SAME_FEATURES)


def test_metrics_on_hand_made_lists():
    seed = song("s", "rock", "A", 0.7)
    twin = song("t", "rock", "B", 0.7)
    far = song("f", "pop", "b", 0.7 + 0.1835 * 2)  # two standard deviations more energy
    scores = es.score_lists("x", [seed], [[twin, far]])
    assert scores.audio_distance == pytest.approx((0.0 + 2.0) / 2, abs=1e-3)
    assert scores.same_genre == 0.5
    assert scores.artist_diversity == 0.5  # "B" and "b" are one artist


def test_run_on_a_slice_orders_the_rankings_as_promised(tmp_path: Path, tiny_model_dir, spread_catalog):
    out = tmp_path / "similar.json"
    argv = ["--checkpoint", str(tiny_model_dir), "--catalog", str(spread_catalog), "--seeds", "60"]
    rows = {r.label: r for r in es.main([*argv, "--weights", "0", "0.5", "1", "--json", str(out)])}
    before, mixed, sound = rows["description only (before)"], rows["sound 0.50"], rows["sound 1.00"]
    chance = rows["random 10 songs (chance)"]
    assert sound.audio_distance < mixed.audio_distance < before.audio_distance < chance.audio_distance
    # Six genres of roughly equal size: a random list is about 1/6 the seed's genre.
    assert abs(chance.same_genre - 1 / 6) <= 0.08
    assert before.same_genre > chance.same_genre
    assert out.read_text().count('"label"') == 4


def test_moodboard_scores_on_hand_made_vectors():
    from scripts.evaluate_moodboard import list_scores

    photos = np.asarray([[1.0, 0.0], [0.0, 1.0]])
    only_first = np.asarray([[1.0, 0.0]] * 4)
    fit, worst, share = list_scores(photos, only_first)
    assert (fit, worst, share) == (0.5, 0.0, 1.0)  # serves one photo, ignores the other
    both = np.asarray([[1.0, 0.0], [0.0, 1.0]] * 2)
    assert list_scores(photos, both) == (0.5, 0.5, 0.5)


def test_moodboard_run_on_a_slice(tiny_model_dir, spread_catalog):
    from scripts import evaluate_moodboard as em

    result = em.main(["--checkpoint", str(tiny_model_dir), "--catalog", str(spread_catalog), "--boards", "6"])
    assert set(result) == {"mean", "recommend", "ranked", "smooth", "arc"}
    assert result["smooth"]["energy"] < result["ranked"]["energy"]
    # The mean query ranks songs by their summed cosine to the photos, so (exact search) its top 20
    # has the highest mean fit any 20 songs can have: recommend's list can never beat it.
    assert result["mean"]["fit"] >= result["recommend"]["fit"] - 1e-6
