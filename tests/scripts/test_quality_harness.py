"""The quality harness: labels, metrics, the original 18 captions, and an end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scripts import evaluate_quality as eq
from services.common.contracts.songs import Song
from tests.songs import make_song


def song(track_id: str, valence: float | None, energy: float | None, tempo: float | None) -> Song:
    return make_song(track_id, valence=valence, energy=energy, tempo=tempo)


def test_original_captions_are_exactly_18():
    grid = [(v, e, t) for v in (0.1, 0.5, 0.9) for e in (0.1, 0.5, 0.9) for t in (90.0, 130.0)]
    captions = {eq.original_caption(song(f"s{i}", *x)) for i, x in enumerate(grid)}
    assert len(captions) == 18
    assert eq.original_caption(song("x", 0.1, 0.9, 150.0)) == "a sad, energetic song with a fast tempo"
    # Band edges and missing values: 1/3 starts the middle band; missing reads as the middle band.
    assert (
        eq.original_caption(song("y", 1 / 3, None, None))
        == "a neutral, moderately energetic song with a slow tempo"
    )


def test_spearman_and_ranks():
    assert eq.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert eq.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert eq.spearman([0, 0, 1, 1], [0.2, 0.1, 0.7, 0.9]) == pytest.approx(0.8944, abs=1e-3)
    assert eq.spearman([1, 1, 1], [1, 2, 3]) is None  # undefined, not a made-up 0
    assert eq.ranks([5, 1, 5, 3]).tolist() == [3.5, 1.0, 3.5, 2.0]


def make_image_set(folder: Path, rows: list[tuple[str, str, str]]) -> Path:
    """Solid-colour images plus labels.csv; warm bright colours labelled happy/energetic."""
    folder.mkdir(parents=True, exist_ok=True)
    colours = {"high": (250, 200, 40), "low": (20, 30, 90)}
    lines = ["filename,valence,energy"]
    for name, valence, energy in rows:
        Image.new("RGB", (64, 48), colours[valence]).save(folder / name)
        lines.append(f"{name},{valence},{energy}")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_labels_errors_are_clear(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="labels.csv"):
        eq.read_labels(tmp_path)
    folder = make_image_set(tmp_path / "set", [("a.png", "high", "low"), ("b.png", "low", "high")])
    assert [(i.valence, i.energy) for i in eq.read_labels(folder)] == [(1.0, 0.0), (0.0, 1.0)]
    (folder / "labels.csv").write_text("filename,valence,energy\na.png,sunny,low\nb.png,low,high\n")
    with pytest.raises(ValueError, match="line 2: valence must be low, high"):
        eq.read_labels(folder)
    (folder / "labels.csv").write_text("filename,valence,energy\nmissing.png,low,low\nb.png,low,high\n")
    with pytest.raises(ValueError, match="'missing.png' is not an image"):
        eq.read_labels(folder)


class OracleEmbedder:
    """Puts mood words and labelled images on the same two axes, so a perfect search is possible.

    It proves the metric code rewards a model that matches moods (and would fail if the harness
    compared the wrong columns or ignored the ranking)."""

    model_id = "oracle"
    VALENCE = {"sad": -1, "melancholic": -1, "wistful": -1, "happy": 1, "cheerful": 1, "euphoric": 1}
    ENERGY = {"calm": -1, "mellow": -1, "moderately": 0, "energetic": 1, "intense": 1}

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            words = text.replace(",", " ").split()
            v = next((self.VALENCE[w] for w in words if w in self.VALENCE), 0)
            e = next((self.ENERGY[w] for w in words if w in self.ENERGY), 0)
            rows.append([v, e, 0.1])
        return eq._normalise(np.asarray(rows, dtype=float))

    def encode_image(self, path: Path) -> np.ndarray:
        labels = {i.path.name: i for i in eq.read_labels(path.parent)}[path.name]
        return eq._normalise(np.asarray([[labels.valence * 2 - 1, labels.energy * 2 - 1, 0.1]]))[0]


def test_metrics_reward_a_model_that_matches_moods(tmp_path: Path, small_songs):
    rows = [("hh.png", "high", "high"), ("hl.png", "high", "low"), ("lh.png", "low", "high"),
            ("ll.png", "low", "low")]  # fmt: skip
    images = eq.read_labels(make_image_set(tmp_path / "oracle", rows))
    results = eq.evaluate(OracleEmbedder(), images, small_songs, k=10)
    for name in ("original", "rich"):
        assert results[name].valence_accuracy == 1.0, name
        assert results[name].energy_accuracy == 1.0, name
        assert results[name].valence_spearman == pytest.approx(1.0, abs=0.3)


def test_harness_runs_end_to_end_on_the_tiny_model(tmp_path: Path, tiny_model_dir, small_catalog, capsys):
    rows = [("sun.png", "high", "high"), ("rain.jpg", "low", "low"), ("dusk.webp", "low", "high")]
    folder = make_image_set(tmp_path / "moods", rows)
    out = tmp_path / "results.json"
    argv = ["--images", str(folder), "--checkpoint", str(tiny_model_dir), "--catalog", str(small_catalog)]
    results = eq.main([*argv, "--songs", "200", "--json", str(out)])
    printed = capsys.readouterr().out
    assert "original" in printed and "rich" in printed and "200 songs" in printed
    assert results["original"].captions <= 18 < results["rich"].captions
    for result in results.values():
        assert 0.0 <= result.valence_accuracy <= 1.0 and 0.0 <= result.energy_accuracy <= 1.0
        assert [r["image"] for r in result.per_image] == ["sun.png", "rain.jpg", "dusk.webp"]
        assert all(len(r["top"]) == 10 == len(set(r["top"])) for r in result.per_image)
    saved = json.loads(out.read_text())
    assert saved["rich"]["per_image"][0]["top"] == results["rich"].per_image[0]["top"]


class ShuffledOracle(OracleEmbedder):
    """The oracle with the images' vectors handed out to the wrong images (a fixed permutation):
    as good a model as the oracle, attached to nothing. The harness must then report chance."""

    model_id = "shuffled-oracle"

    def __init__(self, images: list[eq.LabelledImage], seed: int = 7):
        order = np.random.default_rng(seed).permutation(len(images))
        self.swap = {images[i].path.name: images[int(j)].path for i, j in enumerate(order)}

    def encode_image(self, path: Path) -> np.ndarray:
        return super().encode_image(self.swap[path.name])


# Chance is 0.5 accuracy (labels are balanced high/low) and rho 0; with 200 images one standard
# deviation of the accuracy is 0.035, so 0.12 is about 3.4 of them.
CHANCE_TOLERANCE = 0.12


def test_a_shuffled_model_scores_chance_and_the_oracle_scores_perfect(tmp_path: Path, small_songs):
    levels = ["high", "low"]
    rows = [(f"i{n:03d}.png", levels[n % 2], levels[(n // 2) % 2]) for n in range(200)]
    images = eq.read_labels(make_image_set(tmp_path / "many", rows))
    perfect = eq.evaluate(OracleEmbedder(), images, small_songs, k=10)["rich"]
    assert (perfect.valence_accuracy, perfect.energy_accuracy) == (1.0, 1.0)
    shuffled = eq.evaluate(ShuffledOracle(images), images, small_songs, k=10)["rich"]
    assert abs(shuffled.valence_accuracy - 0.5) <= CHANCE_TOLERANCE
    assert abs(shuffled.energy_accuracy - 0.5) <= CHANCE_TOLERANCE
    assert abs(shuffled.valence_spearman or 0.0) <= 2 * CHANCE_TOLERANCE
    assert abs(shuffled.energy_spearman or 0.0) <= 2 * CHANCE_TOLERANCE
