"""In headless Chromium: a moodboard. Three photos, one of them broken: the broken one is named,
the other two make one playlist in the chosen order, the history keeps it and "Run again" replays
it without the photos. The UI process runs in front of the real encoder, search and auth."""

from __future__ import annotations

import pytest

from tests.ui.signed_in import signed_in_page
from tests.ui.test_browser import CHROMIUM, card_ids, shot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (scripts/install.sh --test installs it)"
    ),
]


def test_moodboard_in_chromium(ui_stack, photo_files):
    from playwright.sync_api import expect

    with signed_in_page(ui_stack, "moodboard") as page:
        page.get_by_text("Moodboard: several photos, one playlist").click()
        files = [photo_files["sunset"], photo_files["night"], photo_files["broken"]]
        page.locator("#pp-moodboard-files input[type=file]").set_input_files([str(f) for f in files])
        expect(page.locator("#pp-moodboard-files tr", has_text="broken")).to_be_visible()
        page.get_by_label("Smooth energy and tempo").check()
        page.locator("#pp-moodboard-go").click()
        heading = page.locator("#pp-results .pp-results-heading")
        expect(heading).to_contain_text("Moodboard of 2 photos · Smooth energy and tempo")
        expect(heading).to_contain_text("per song instead of")
        expect(page.locator("#pp-notice")).to_contain_text("Not used: broken.png")
        expect(page.locator("#pp-notice")).to_contain_text("The other photos count")
        first = card_ids(page)
        assert len(first) >= 10 and len(set(first)) == len(first)
        expect(page.locator("#pp-load-more")).to_be_hidden()  # one playlist
        shot(page, "moodboard-results")

        page.get_by_role("tab", name="History").click()
        row = page.locator("#pp-history li.pp-history-item").first
        expect(row).to_contain_text("Moodboard · “2 photos · Smooth energy and tempo”")
        expect(row.locator("img.pp-thumb")).to_be_visible()
        shot(page, "moodboard-history")
        row.locator("button[data-action=rerun]").click()
        expect(heading).to_contain_text("Moodboard of 2 photos · Smooth energy and tempo")
        page.wait_for_function(
            "ids => JSON.stringify([...document.querySelectorAll('#pp-results article.pp-card')]"
            ".map(e => e.dataset.trackId)) === JSON.stringify(ids)",
            arg=first,
        )
