"""Cards on a fresh stack in headless Chromium: a placeholder turns into album art without a new
search, the Spotify player's iframe appears only after a click, and axe-core finds no serious or
critical WCAG 2 A/AA violation on the sign-in page or on a results page.

The enrichment worker is a real Celery process started mid-test, behind the fake iTunes + oEmbed
server; Spotify's image and embed hosts are answered by the test (no internet on CI machines).
"""

from __future__ import annotations

import io
import secrets
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image

from tests.enricher.fake_itunes import FakeItunesServer
from tests.enricher.stack import Worker
from tests.processes import ROOT, running_service
from tests.ui.conftest import photo_png
from tests.ui.test_browser import CHROMIUM, CHROMIUM_ARGS, FIRST_LOAD_MS, TIMEOUT_MS, register, shot

pillow_heif.register_heif_opener()  # to write the HEIC test photo
AXE = ROOT / ".npm-test" / "node_modules" / "axe-core" / "axe.min.js"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (scripts/install.sh --test installs it)"
    ),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core is absent (scripts/install.sh --test installs it)"),
]


def serious_violations(page) -> list[str]:
    """Run axe-core (WCAG 2 A and AA rules) on the page; the serious and critical findings."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}});
            const data = (n) => (n.any[0] && n.any[0].data) || {};
            const where = (n) => `${n.target} ${data(n).fgColor || ''}/${data(n).bgColor || ''}`;
            return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
              .map(v => `${v.id} (${v.impact}): ${v.nodes.map(where).join('; ')}`);
        }"""
    )
    return list(result)


def png_bytes() -> bytes:
    return photo_png("night", (300, 300))


def test_cards_fill_in_by_themselves_and_spotify_loads_only_on_click(ui_stack, tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    photo = tmp_path / "sunset.png"
    photo.write_bytes(photo_png("sunset"))
    heic = tmp_path / "IMG_0001.HEIC"
    with Image.open(io.BytesIO(photo_png("night"))) as night:
        night.save(heic, "HEIF")
    name, password = "c" + secrets.token_hex(4), "Cards-Test-Pass-9"
    with (
        FakeItunesServer() as fake,
        running_service("services.ui.app:app", ui_stack.env, timeout_s=90) as url,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        worker = None
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            spotify_requests: list[str] = []
            page.on(
                "request",
                lambda r: (
                    spotify_requests.append(r.url) if "spotify.com" in r.url or "scdn.co" in r.url else None
                ),
            )
            # Stand-ins for Spotify's CDN and embed player: the machine has no internet.
            art = png_bytes()
            page.route(
                "https://i.scdn.co/**", lambda route: route.fulfill(body=art, content_type="image/png")
            )
            page.route(
                "https://open.spotify.com/**",
                lambda route: route.fulfill(body="<p>Spotify player</p>", content_type="text/html"),
            )
            page.goto(url)
            expect(page.locator("#pp-sign-in")).to_be_visible(timeout=FIRST_LOAD_MS)
            page.wait_for_timeout(500)
            # No spinner is left on the sign-in page once it has loaded.
            expect(page.get_by_text("processing |")).to_have_count(0)
            # Audits are collected and checked at the end, so one run reports every page's findings.
            audits = {"sign-in": serious_violations(page)}

            register(page, name, password)
            expect(page.locator("#pp-photo")).to_contain_text("WebP")

            page.locator("#pp-photo input[type=file]").set_input_files(str(photo))
            page.locator("#pp-photo img").first.wait_for()
            page.locator("#pp-search").click()
            page.locator("#pp-results .pp-results-heading").wait_for()
            first = page.locator("#pp-results article.pp-card").first
            # Fresh stack, no worker yet: placeholders, and a player only behind a button.
            expect(first.locator(".pp-art-placeholder")).to_be_visible()
            cards = page.locator("#pp-results article.pp-card")
            count = cards.count()
            assert count >= 6
            expect(page.locator("#pp-results .pp-embed-load")).to_have_count(count)
            expect(page.locator("#pp-results iframe")).to_have_count(0)
            assert spotify_requests == []
            shot(page, "cards-01-placeholders")
            audits["results"] = serious_violations(page)

            # The worker starts; the same cards turn into art without another search.
            env = {
                **ui_stack.env,
                "PIXELPLAY_ENRICHER_ITUNES_URL": fake.url,
                "PIXELPLAY_ENRICHER_SPOTIFY_OEMBED_URL": fake.oembed_url,
            }
            worker = Worker("cards", env, tmp_path / "worker.log")
            expect(first.locator("img.pp-art[data-art-source=spotify]")).to_be_visible(timeout=60_000)
            page.wait_for_function(
                "document.querySelectorAll('#pp-results img.pp-art').length"
                " === document.querySelectorAll('#pp-results article.pp-card').length",
                timeout=60_000,
            )
            assert all(u.startswith("https://i.scdn.co/") for u in spotify_requests)
            assert not [u for u in spotify_requests if "open.spotify.com" in u]
            shot(page, "cards-02-art")

            # Click to load: only now does the embed player's iframe exist and load.
            first.locator(".pp-embed-load").click()
            frame = first.locator("iframe.pp-embed")
            expect(frame).to_be_visible()
            assert frame.get_attribute("src").startswith("https://open.spotify.com/embed/track/")
            expect(page.locator("#pp-results iframe")).to_have_count(1)
            page.wait_for_timeout(500)
            assert [u for u in spotify_requests if u.startswith("https://open.spotify.com/embed/track/")]
            shot(page, "cards-03-player")
            audits["results with art and a player"] = serious_violations(page)

            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(300)
            shot(page, "cards-04-phone")
            page.set_viewport_size({"width": 1360, "height": 900})

            # An iPhone photo (HEIC) is searched like any other. Browsers that know the type (Safari,
            # Chrome on macOS) send it as image/heic; iOS itself turns it into a JPEG.
            page.locator("#pp-photo button[aria-label='Remove Image']").first.click()
            page.locator("#pp-photo input[type=file]").set_input_files(
                {"name": heic.name, "mimeType": "image/heic", "buffer": heic.read_bytes()}
            )
            page.evaluate("document.querySelector('#pp-results .pp-grid').dataset.old = '1'")
            page.locator("#pp-search").click()
            page.locator("#pp-results .pp-grid:not([data-old])").wait_for()  # a new page of cards
            expect(page.locator("#pp-results .pp-results-heading")).to_have_text("Songs for your photo")
            expect(page.locator("#pp-notice .pp-notice-error")).to_have_count(0)
            assert audits == {page: [] for page in audits}
        except Exception:
            shot(page, "cards-failure")
            raise
        finally:
            if worker is not None:
                worker.stop()
            browser.close()
