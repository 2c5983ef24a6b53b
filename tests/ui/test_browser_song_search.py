"""In headless Chromium: start from a song. Typing shows matches after a pause (one search for a
burst of keys, not one per key); picking a match runs "Find similar" from it, and the heading says
what "similar" means. The UI process runs in front of the real encoder, search and auth."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest

from services.common.catalog import load_catalog
from services.common.settings import get_settings
from services.ui.song_search import DEBOUNCE_MS
from tests.processes import running_service
from tests.ui.conftest import INDEX_LIMIT
from tests.ui.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, FIRST_LOAD_MS, TIMEOUT_MS, field, shot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (scripts/install.sh --test installs it)"
    ),
]


def indexed_song_with_long_title_word() -> tuple[str, str, str]:
    """(track id, title, a title word of 5+ letters) of a song the UI stack indexed."""
    songs, _ = load_catalog(Path(get_settings().catalog_path))
    for song in songs[:INDEX_LIMIT]:
        for word in re.findall(r"[A-Za-z]{5,}", song.title):
            return song.track_id, song.title, word
    raise AssertionError("no indexed song with a long title word")


def register(page, name: str) -> None:
    page.get_by_role("tab", name="Create account").click()
    field(page, "pp-reg-username").fill(name)
    field(page, "pp-reg-email").fill(f"{name}@example.com")
    field(page, "pp-reg-password").fill("Browser-Test-Pass-9")
    page.locator("#pp-register").click()


def test_start_from_a_song_in_chromium(ui_stack):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    track_id, title, word = indexed_song_with_long_title_word()
    with running_service("services.ui.app:app", ui_stack.env, timeout_s=90) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        try:
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)
            expect(page.locator("#pp-sign-in")).to_be_visible(timeout=FIRST_LOAD_MS)
            register(page, "s" + secrets.token_hex(4))
            expect(page.locator("#pp-user-badge")).to_be_visible()

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
            ids = page.eval_on_selector_all(
                "#pp-results article.pp-card", "els => els.map(e => e.dataset.trackId)"
            )
            assert ids and track_id not in ids
            shot(page, "song-search-similar")

            page.get_by_role("tab", name="History").click()
            expect(page.locator("#pp-history li.pp-history-item").first).to_contain_text(
                f"Similar songs · “{title}"
            )
            assert not [e for e in errors if "ResizeObserver" not in e], errors
        except Exception:
            shot(page, "song-search-failure")
            raise
        finally:
            browser.close()
