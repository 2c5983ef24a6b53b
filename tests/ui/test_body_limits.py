"""The UI's own routes are shaped like every service's: an oversized body is refused with 413 as it
arrives, a malformed one gets a readable 422, and the upload path still takes a full-size photo."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.common.contracts.search import MAX_PHOTOS
from services.ui.app import SESSION_BODY_BYTES, body_limit, create_app

pytestmark = pytest.mark.slow


def test_session_routes_refuse_oversized_and_malformed_bodies(ui_settings) -> None:
    with TestClient(create_app(ui_settings)) as client:
        huge = {"login": "someone", "password": "x" * (SESSION_BODY_BYTES + 1)}
        too_large = client.post("/session/login", json=huge)
        assert too_large.status_code == 413
        assert str(SESSION_BODY_BYTES) in too_large.json()["detail"]
        assert too_large.headers["X-Frame-Options"] == "DENY"  # the security headers still apply

        malformed = client.post("/session/login", json={"login": "someone"})
        assert malformed.status_code == 422
        body = malformed.json()
        assert body["detail"] == "password: Field required"
        assert body["errors"][0]["loc"] == ["body", "password"]

        not_json = client.post(
            "/session/login", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert not_json.status_code == 422
        assert "JSON" in not_json.json()["detail"]


def test_the_upload_path_takes_a_moodboard_of_full_size_photos(ui_settings) -> None:
    limit = body_limit("/gradio_api/upload", ui_settings)
    assert limit > ui_settings.max_upload_bytes * MAX_PHOTOS
    assert body_limit("/session/logout", ui_settings) == SESSION_BODY_BYTES
