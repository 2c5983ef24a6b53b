"""The UI's card-update route against the real search service: card HTML for the ids asked, 422 for
anything that is not a short list of track ids."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.ui.backend import Backend
from services.ui.card_updates import CARD_UPDATES_PATH, MAX_IDS, make_router

pytestmark = pytest.mark.slow


def test_card_updates_render_the_songs_asked_for_and_refuse_bad_ids(ui_settings) -> None:
    backend = Backend.from_settings(ui_settings)
    app = FastAPI()
    app.include_router(make_router(backend))
    try:
        page = backend.search_text("calm evening", None, 3)
        ids = [hit["song"]["track_id"] for hit in page["hits"]]
        with TestClient(app) as client:
            answer = client.get(CARD_UPDATES_PATH, params={"ids": ",".join([*ids, "unknownTrack"])})
            assert answer.status_code == 200
            cards = answer.json()["cards"]
            assert sorted(cards) == sorted(ids)  # unknown ids are left out
            for card in cards.values():
                assert card["art"].startswith(("<div class=\"pp-art", "<img class=\"pp-art"))
                assert card["preview"] is None or card["preview"].startswith("<audio")
                assert isinstance(card["done"], bool)
            for bad in ("", "a;b", "<script>", ",".join(f"t{i}" for i in range(MAX_IDS + 1))):
                refused = client.get(CARD_UPDATES_PATH, params={"ids": bad})
                assert refused.status_code == 422, bad
    finally:
        backend.close()
