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
