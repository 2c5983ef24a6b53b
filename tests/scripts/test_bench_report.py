"""The benchmark report: docs/benchmarks.md is exactly what bench-results/ gives, and each figure
names the file it comes from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.bench import report
from scripts.bench.results import Run, ms, percentile, ratio_rounds


def test_the_committed_report_is_what_the_result_files_give():
    """Editing docs/benchmarks.md by hand, or adding a result without regenerating, fails here."""
    assert report.DOC.read_text() == report.render(report.load()), "run: python -m scripts.bench.report"


def test_every_result_file_is_rendered_with_its_name():
    results = report.load()
    assert results, "bench-results/ holds the measured figures"
    text = report.render(results)
    for name in results:
        assert f"`bench-results/{name}.json`" in text


def test_a_saved_run_renders_its_own_figures(tmp_path: Path):
    run = Run("search_latency", {"queries": 4})
    figures = {
        "songs": 28352, "upsert_s": 12.3, "optimize_s": 0.4,
        "default_page": ms([0.010, 0.012, 0.011, 0.030]), "plain_page": ms([0.004, 0.005, 0.004, 0.006]),
        "default_over_plain": ratio_rounds([0.010, 0.012, 0.011, 0.030], [0.004, 0.005, 0.004, 0.006], 2),
        "recall_at_10": 1.0, "pages_with_explanations": 1.0,
    }  # fmt: skip
    path = run.save(figures, {"default_s": [0.01]}, folder=tmp_path)
    saved = json.loads(path.read_text())
    assert saved["machine"]["cores"] >= 1 and saved["load_average"]["start"] >= 0
    text = report.render(report.load(tmp_path))
    assert "| 28,352 | 12 + 0.4 s | 12.0 / 30.0 | 5.0 / 6.0 |" in text
    assert "`bench-results/search_latency.json`" in text
    # A 1M target is never shown as met without a 1M file.
    assert "met**" not in text


def test_ratio_rounds_takes_each_rounds_medians_and_their_spread():
    a = [2.0, 2.0, 3.0, 3.0, 4.0, 4.0]
    b = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert ratio_rounds(a, b, 3) == {"median": 3.0, "min": 2.0, "max": 4.0, "rounds": [2.0, 3.0, 4.0]}


@pytest.mark.parametrize(("q", "expected"), [(50, 3.0), (99, 5.0), (0, 1.0)])
def test_percentile_is_nearest_rank(q: float, expected: float):
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], q) == expected


def test_song_names_renders_the_p95_target_from_its_own_figures(tmp_path: Path):
    names, song = [0.002, 0.003, 0.004, 0.060], [0.001, 0.001, 0.002, 0.002]
    latency = {"names": ms(names), "song": ms(song), "fused": ms([0.01] * 2), "description": ms([0.008] * 2)}
    figures = {
        "songs": 28352, "index_s": 30.2, "queries": {"total": 4, "with_matches": 3, "empty": 1},
        "latency": latency, "names_p95_over_song_p95": 30.0,
        "names_over_song": ratio_rounds(names, song, 2),
        "fused_over_description": ratio_rounds([0.01, 0.01], [0.008, 0.008], 2),
        "target_p95_ms": 50.0, "target_met": False,
    }  # fmt: skip
    Run("song_names", {"rounds": 2, "per_round": 2, "seed": 0}).save(figures, {}, folder=tmp_path)
    text = report.render(report.load(tmp_path))
    assert "| `GET /songs/names` | 4 | 4.0 | 60.0 | 60.0 |" in text
    assert "p95 60.0 ms (30.00x the reference's p95), **not met**" in text


def test_first_search_art_renders_both_sides_and_the_target(tmp_path: Path):
    def side(times: list[float], art: int, playable: int, wait: float | None) -> dict:
        return {"rounds": 2, "rounds_all_art": len(times), "with_art_at_end": art,
                "all_art_s": {"median": times[0], "max": times[-1]} if times else None,
                "playable_at_render": playable, "cards": 24, "projected_wait_s": wait}  # fmt: skip

    figures = {"with": side([6.1, 11.0], 24, 24, None), "without": side([], 1, 1, 2280)}
    params = {"rounds": 2, "backlog": 1000, "budget": 30.0, "page": 12,
              "limits": {"itunes_per_minute": 20, "oembed_per_minute": 180}}  # fmt: skip
    Run("first_search_art", params).save(figures, {}, folder=tmp_path)
    text = report.render(report.load(tmp_path))
    assert "median **6.1 s**, max 11.0 s (2/2 rounds within 60 s)" in text
    assert "not within 30 s in any round (1 of 24 cards with art after 30 s)" in text
    assert "after a median **38 min**" in text
    assert "| **24/24** (iTunes preview, else the click-to-load Spotify player) | 1/24 |" in text
    # One round past 10 s misses the target even though every card got art.
    assert "in every round: **not met**" in text
