"""The UI's card-update route against the real search service: card HTML for the ids asked, 422 for
anything that is not a short list of track ids, 503 while search is down."""

from __future__ import annotations

import time
from html import escape

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.common.clients.search import SearchClient
from services.common.contracts.songs import Enrichment, SpotifyArt
from services.common.embedded import free_port
from services.ui.deps import get_search
from services.ui.routes.cards import CARD_UPDATES_PATH, MAX_IDS, router

pytestmark = pytest.mark.slow


def card_app(search: SearchClient) -> FastAPI:
    """The card route alone, answering from ``search`` (the real service)."""
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[get_search] = lambda: search
    return app


ITUNES_ART = "https://is1-ssl.mzstatic.com/image/thumb/Music/v4/ab/cd/cover.jpg/600x600bb.jpg"
PREVIEW = "https://audio-ssl.itunes.apple.com/itunes-assets/AudioPreview/ab/cd/preview.m4a"
SPOTIFY_ART = "https://i.scdn.co/image/ab67616d0000b273cafe"


def test_card_updates_render_the_songs_asked_for_and_refuse_bad_ids(ui_settings) -> None:
    search = SearchClient(ui_settings.search_url, settings=ui_settings)
    app = card_app(search)
    page = search.search_text("calm evening", limit=3)
    matched, art_only, missed = ids = [hit.song.track_id for hit in page.hits]
    # Enrichment results are written as the enricher does: with the service token.
    enricher = SearchClient(ui_settings.search_url, token=ui_settings.service_token.get_secret_value())
    before = {song.track_id: song for song in enricher.songs(ids)}
    at = time.time()
    try:
        # Three states a card can be in: everything from iTunes; Spotify's art while the iTunes
        # lookup is still to come; both sources done without finding anything.
        enricher.update_enrichment(
            matched,
            Enrichment.model_validate(
                {"enrich_status": "ok", "enriched_at": at, "art_url": ITUNES_ART, "preview_url": PREVIEW}
            ),
        )
        enricher.update_spotify_art(
            art_only,
            SpotifyArt.model_validate(
                {"spotify_art_status": "ok", "spotify_art_url": SPOTIFY_ART, "spotify_art_at": at}
            ),
        )
        enricher.update_enrichment(
            missed, Enrichment.model_validate({"enrich_status": "not_found", "enriched_at": at})
        )
        enricher.update_spotify_art(
            missed, SpotifyArt.model_validate({"spotify_art_status": "not_found", "spotify_art_at": at})
        )
        with TestClient(app) as client:
            answer = client.get(CARD_UPDATES_PATH, params={"ids": ",".join([*ids, "unknownTrack"])})
            assert answer.status_code == 200
            cards = answer.json()["cards"]
            assert sorted(cards) == sorted(ids)  # unknown ids are left out
            assert cards[matched]["art"].startswith(f'<img class="pp-art" src="{escape(ITUNES_ART)}"')
            preview = cards[matched]["preview"]
            assert preview.startswith('<audio class="pp-audio"') and f'src="{escape(PREVIEW)}"' in preview
            assert cards[matched]["done"] is True
            assert cards[art_only]["art"].startswith(f'<img class="pp-art" src="{SPOTIFY_ART}"')
            # The iTunes lookup is still to come: the card keeps polling.
            assert (cards[art_only]["preview"], cards[art_only]["done"]) == (None, False)
            assert cards[missed]["art"].startswith('<div class="pp-art')  # the letter placeholder
            assert (cards[missed]["preview"], cards[missed]["done"]) == (None, True)
            for bad in ("", "a;b", "<script>", ",".join(f"t{i}" for i in range(MAX_IDS + 1))):
                refused = client.get(CARD_UPDATES_PATH, params={"ids": bad})
                assert refused.status_code == 422, bad
    finally:
        # The stack is shared by the session: put the songs back as they were (a newer result wins).
        for tid, song in before.items():
            enricher.update_enrichment(
                tid,
                Enrichment.model_validate(
                    song.model_dump(include=set(Enrichment.model_fields)) | {"enriched_at": at + 1}
                ),
            )
            enricher.update_spotify_art(
                tid,
                SpotifyArt.model_validate(
                    song.model_dump(include=set(SpotifyArt.model_fields)) | {"spotify_art_at": at + 1}
                ),
            )
        enricher.close()
        search.close()


def test_card_updates_answer_503_while_search_is_down(ui_settings) -> None:
    down = ui_settings.model_copy(update={"search_url": f"http://127.0.0.1:{free_port()}"})
    search = SearchClient(down.search_url, settings=down)
    app = card_app(search)
    try:
        with TestClient(app) as client:
            answer = client.get(CARD_UPDATES_PATH, params={"ids": "0sf12qNH5qcw8qpgymFOqD"})
        assert answer.status_code == 503
        assert answer.json() == {"detail": "song details are unavailable right now"}
    finally:
        search.close()
