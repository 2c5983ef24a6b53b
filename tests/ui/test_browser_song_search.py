"""In headless Chromium: start from a song. Typing shows matches after a pause (one search for a
burst of keys, not one per key); picking a match runs "Find similar" from it, and the heading says
what "similar" means. The UI process runs in front of the real encoder, search and auth."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.common.catalog import load_catalog
from services.common.settings import get_common_settings
from services.ui.song_search import DEBOUNCE_MS
from tests.ui.conftest import INDEX_LIMIT
from tests.ui.signed_in import signed_in_page
from tests.ui.test_browser import CHROMIUM, card_ids, field, shot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (scripts/install.sh --test installs it)"
    ),
]


def indexed_song_with_long_title_word() -> tuple[str, str, str]:
    """(track id, title, a title word of 5+ letters) of a song the UI stack indexed."""
    songs, _ = load_catalog(Path(get_common_settings().catalog_path))
    for song in songs[:INDEX_LIMIT]:
        for word in re.findall(r"[A-Za-z]{5,}", song.title):
            return song.track_id, song.title, word
    raise AssertionError("no indexed song with a long title word")


def test_start_from_a_song_in_chromium(ui_stack):
    from playwright.sync_api import expect

    track_id, title, word = indexed_song_with_long_title_word()
    with signed_in_page(ui_stack, "song-search") as page:
        # Signing in also draws the Spotify line (its own event): let it land before counting.
        expect(page.locator("#pp-spotify-status")).to_contain_text("Spotify")
        # Every event the page sends to the UI server is a POST to the queue: count them.
        events: list[str] = []
        page.on("request", lambda r: events.append(r.url) if "queue/join" in r.url else None)
        box = field(page, "pp-song-query")
        box.press_sequentially(word[:5].swapcase(), delay=DEBOUNCE_MS // 5)  # faster than the pause
        pick = page.locator(f"#pp-song-matches button[data-track-id='{track_id}']")
        expect(pick).to_be_visible()
        assert len(events) == 1, f"{len(events)} searches for one burst of typing"
        shot(page, "song-search-matches")

        box.fill("")
        box.press_sequentially("zzqxvwk", delay=20)
        expect(page.locator("#pp-song-matches")).to_contain_text("No song or artist matches")
        box.fill("")
        box.press_sequentially(word[:5], delay=20)
        pick.click()
        heading = page.locator("#pp-results .pp-results-heading")
        expect(heading).to_contain_text(f"Similar to {title}")
        expect(heading).to_contain_text("by sound")
        ids = card_ids(page)
        assert ids and track_id not in ids
        shot(page, "song-search-similar")

        page.get_by_role("tab", name="History").click()
        expect(page.locator("#pp-history li.pp-history-item").first).to_contain_text(
            f"Similar songs · “{title}"
        )
