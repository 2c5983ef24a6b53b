import uuid
from datetime import datetime

from services.ui.history import describe_entry, describe_filters, history_html, when
from tests.ui.helpers import history_entry

SEVEN, EIGHT = uuid.UUID(int=7), uuid.UUID(int=8)


def _entry(**kw):
    base = {
        "id": SEVEN,
        "kind": "hybrid",
        "text": "rainy night",
        "weight": 0.4,
        "filters": {"genres": ["rock", "pop"], "year_min": 1990, "year_max": None},
        "thumbnail": "data:image/jpeg;base64,AAAA",
        "result_track_ids": ["a", "b"],
    }
    base.update(kw)
    return history_entry(**base)


def test_entry_is_described_with_its_query_parameters():
    assert describe_entry(_entry()) == (
        "Photo + text · “rainy night” (text weight 0.40) · genres: rock, pop · 1990–… · 2 results"
    )
    assert (
        describe_entry(_entry(kind="similar", text="Song — Band", filters=None, result_track_ids=["x"]))
        == "Similar songs · “Song — Band” · 1 result"
    )
    assert describe_filters({"features": {"energy": {"min": 0.5, "max": None}}}) == "energy 0.5–1"
    assert describe_filters(None) == ""


def test_history_rows_have_thumbnail_time_and_rerun_delete_buttons():
    html = history_html([_entry(), _entry(id=EIGHT, kind="text", thumbnail=None)], total=5)
    assert html.count('<li class="pp-history-item"') == 2
    assert '<img class="pp-thumb" src="data:image/jpeg;base64,AAAA"' in html
    assert (
        f'data-action="rerun" data-entry-id="{SEVEN}"' in html
        and f'data-action="delete" data-entry-id="{EIGHT}"' in html
    )
    assert "2026-11-25 14:02 UTC" in html
    assert "2 of 5 searches shown" in html


def test_history_escapes_text_and_refuses_non_image_thumbnails():
    html = history_html([_entry(text="<img src=x onerror=alert(1)>", thumbnail="javascript:alert(1)")])
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:" not in html and "pp-thumb-empty" in html


def test_empty_history_and_odd_timestamps():
    assert "No searches yet" in history_html([])
    assert when(datetime(2026, 11, 25, 14, 2)) == "2026-11-25 14:02"  # no zone: none named
