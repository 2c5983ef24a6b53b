"""The callbacks' pure helpers (no services needed)."""

import base64

from services.ui.callbacks import SIGNED_OUT, decode_data_url, filters_from, history_entry, view
from services.ui.images import Upload

OPTIONS = {"genres": ["pop", "rock"], "year_min": 1957, "year_max": 2020}


def test_filters_leave_out_what_the_user_did_not_narrow():
    assert filters_from(None, 1957, 2020, OPTIONS) is None
    assert filters_from([], 1957.0, 2020.0, OPTIONS) is None
    assert filters_from(["rock"], 1990, 2020, OPTIONS) == {"genres": ["rock"], "year_min": 1990}
    assert filters_from(None, 1957, 2005.0, OPTIONS) == {"year_max": 2005}


def test_without_the_catalog_range_the_placeholder_sliders_send_no_year():
    assert filters_from(None, 1900, 2030, {}) is None
    assert filters_from(["pop"], 1990, 2000, None) == {"genres": ["pop"]}


def test_thumbnail_data_urls_decode_only_when_they_are_base64_images():
    raw = b"\xff\xd8\xffjpeg-bytes"
    assert decode_data_url("data:image/jpeg;base64," + base64.b64encode(raw).decode()) == raw
    assert decode_data_url("data:text/html;base64,PGI+") is None
    assert decode_data_url("data:image/jpeg;base64,@@not base64@@") is None
    assert decode_data_url(None) is None


def test_view_switches_screens_and_forgets_a_dead_session():
    signed_out = view(None, "Your session has expired.")
    assert signed_out["session"] == SIGNED_OUT and signed_out["auth_view"]["visible"] is True
    assert signed_out["app_view"]["visible"] is False and "expired" in signed_out["notice"]
    assert signed_out["auth_tabs"]["selected"] == "signin"
    signed_in = view({"token": "t", "user": {"username": "<ann>"}})
    assert signed_in["app_view"]["visible"] is True and "auth_tabs" not in signed_in
    assert "&lt;ann&gt;" in signed_in["user_badge"] and signed_in["notice"] == ""


def test_history_entry_carries_fingerprint_and_thumbnail_of_the_photo(tmp_path):
    from tests.ui.conftest import photo_png

    data = photo_png("night")
    entry = history_entry("hybrid", text="stars", weight=0.4, upload=Upload(data, "n.png", "image/png"),
                          result_track_ids=["a", "b"])  # fmt: skip
    assert entry["kind"] == "hybrid" and entry["weight"] == 0.4 and entry["result_track_ids"] == ["a", "b"]
    assert len(entry["image_fingerprint"]) == 64 and entry["thumbnail"].startswith("data:image/jpeg;base64,")
    assert history_entry("text", text="x")["thumbnail"] is None
