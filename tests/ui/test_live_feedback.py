"""Thumbs up / down and exports through the real encoder, search and auth processes (tiny model).

Reuses the UI tests' service stack (tests/ui/conftest.py), so it proves the whole path: the UI
handler → search's /search/feedback → auth's /history accepting the "feedback" entry.
"""

from __future__ import annotations

import csv
import re
import secrets
from pathlib import Path

import gradio as gr
import pytest

from services.ui.context import Context
from services.ui.exports import exports
from services.ui.handlers import Handlers
from tests.ui.helpers import signed_in_session

pytestmark = pytest.mark.slow


@pytest.fixture
def ui(ui_settings):
    ctx = Context.from_settings(ui_settings)
    yield Handlers.build(ctx)
    ctx.close()


def track_ids(html: str) -> list[str]:
    return re.findall(r'<article class="pp-card" data-track-id="([^"]+)"', html)


def test_dislike_like_load_more_rerun_and_export(ui, photo_files):
    name = "q" + secrets.token_hex(4)
    ui.accounts.register(name, f"{name}@example.com", "Correct-Horse-42")
    session = signed_in_session(ui.ctx.auth, name, "Correct-Horse-42")
    photo = {"path": str(photo_files["sunset"]), "orig_name": "sunset.png"}
    first = ui.search.search(session, photo, "", 0.3, None, None, None, None, progress=lambda *a, **k: None)
    shown = track_ids(first["results"])
    assert len(shown) == ui.ctx.limits.page_size

    disliked, liked = shown[0], shown[1]
    out = ui.search.card_action(
        session, first["search_state"], gr.EventData(None, {"action": "dislike", "track_id": disliked})
    )
    assert "refined by 0 liked and 1 disliked" in out["results"], out.get("notice")
    refined = track_ids(out["results"])
    assert disliked not in refined and refined != shown
    entry = out["history_state"][0]
    assert entry.kind == "feedback" and entry.feedback["negative_track_ids"] == [disliked]
    assert len(entry.feedback["query_vector"]) == len(first["search_state"].query.vector)

    out = ui.search.card_action(
        session, out["search_state"], gr.EventData(None, {"action": "like", "track_id": liked})
    )
    assert "refined by 1 liked and 1 disliked" in out["results"]
    more = ui.search.load_more(out["search_state"])
    all_ids = track_ids(more["results"])
    assert len(all_ids) == len(set(all_ids)) > ui.ctx.limits.page_size
    assert disliked not in all_ids and liked not in all_ids

    again = ui.history.rerun(session, out["history_state"][0], None, None)
    assert track_ids(again["results"]) == track_ids(out["results"])

    files = exports(out["search_state"])
    with Path(files["export_csv"]["value"]).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert [r[4].rsplit("/", 1)[1] for r in rows[1:]] == track_ids(out["results"])
    assert Path(files["export_m3u"]["value"]).read_text(encoding="utf-8").startswith("#EXTM3U\n")


def test_harness_runs_against_the_encoder_service(ui_stack, small_catalog, tmp_path, capsys):
    """The harness's ``--encoder-url`` path: same metrics, vectors from the running encoder."""
    from scripts import evaluate_quality as eq
    from tests.scripts.test_quality_harness import make_image_set

    folder = make_image_set(tmp_path / "moods", [("a.png", "high", "high"), ("b.png", "low", "low")])
    url = ui_stack.env["PIXELPLAY_ENCODER_URL"]
    results = eq.main(
        ["--images", str(folder), "--encoder-url", url, "--catalog", str(small_catalog), "--songs", "60"]
    )
    assert "model local:" in capsys.readouterr().out  # the encoder's own model id
    assert results["original"].captions <= 18 < results["rich"].captions
    assert all(len(r["top"]) == 10 for r in results["rich"].per_image)
