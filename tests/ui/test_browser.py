"""End to end in headless Chromium: the UI process in front of the real encoder, search and auth.

register → sign out → sign in → upload a PNG → cards (title, artist, radar) → refine with text
changes the ranking → load more → "Find similar" → reload keeps the session and the last search,
history lists the searches → sign out. Screenshots go to test-artifacts/ui/; with
PIXELPLAY_UPDATE_README_SCREENSHOT=1 the results page is also copied to docs/img/results.png.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path

import pytest

from tests.processes import ROOT, running_service

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "ui"
# Generous: the machine's 2 cores are shared, and Gradio's first page load (a few MB of JS) and the
# first search (model warm-up) can take tens of seconds under load. Waits end as soon as they can.
TIMEOUT_MS = 60_000
FIRST_LOAD_MS = 120_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (scripts/install.sh --test installs it)"
    ),
]


def card_ids(page) -> list[str]:
    return page.eval_on_selector_all("#pp-results article.pp-card", "els => els.map(e => e.dataset.trackId)")


def field(page, elem_id: str):
    """The text entry of a Gradio Textbox (an <input> or a <textarea> depending on its type)."""
    return page.locator(f"#{elem_id} input, #{elem_id} textarea").first


def wait_heading(page, text: str) -> None:
    page.locator("#pp-results .pp-results-heading", has_text=text).wait_for(timeout=TIMEOUT_MS)


def register(page, name: str, password: str) -> None:
    """Create an account from the sign-in screen, which leads back to "Sign in", then sign in."""
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Create account").click()
    field(page, "pp-reg-username").fill(name)
    field(page, "pp-reg-email").fill(f"{name}@example.com")
    field(page, "pp-reg-password").fill(password)
    page.locator("#pp-register").click()
    expect(page.locator("#pp-notice")).to_contain_text("Sign in")
    expect(page.locator("#pp-sign-in")).to_be_visible()
    field(page, "pp-login").fill(name)
    field(page, "pp-login-password").fill(password)
    page.locator("#pp-sign-in").click()
    expect(page.locator("#pp-user-badge")).to_contain_text(name)


def shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def fits_a_phone(page, name: str) -> None:
    """At phone width (390 px) nothing overflows sideways; screenshot ``name``, then back to desktop."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"page is {overflow}px wider than a phone screen"
    shot(page, name)
    page.set_viewport_size({"width": 1360, "height": 900})


def test_full_user_flow_in_chromium(ui_stack, photo_files):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name, password = "b" + secrets.token_hex(4), "Browser-Test-Pass-9"
    with running_service("services.ui.app:app", ui_stack.env, timeout_s=90) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)
            expect(page.locator("#pp-sign-in")).to_be_visible(timeout=FIRST_LOAD_MS)
            expect(page.locator("#pp-demo-banner")).to_contain_text("Demo model — rankings are meaningless")
            shot(page, "01-sign-in")

            # Register (back to "Sign in") and sign in, sign out, then sign in again.
            register(page, name, password)
            page.locator("#pp-sign-out").click()
            expect(page.locator("#pp-sign-in")).to_be_visible()  # back on the "Sign in" tab
            field(page, "pp-login").fill(name)
            field(page, "pp-login-password").fill(password)
            page.locator("#pp-sign-in").click()
            expect(page.locator("#pp-user-badge")).to_contain_text(name)

            # Upload a photo and search.
            page.locator("#pp-photo input[type=file]").set_input_files(str(photo_files["sunset"]))
            page.locator("#pp-photo img").first.wait_for()
            page.locator("#pp-search").click()
            wait_heading(page, "Songs for your photo")
            first_card = page.locator("#pp-results article.pp-card").first
            expect(first_card.locator(".pp-title")).not_to_be_empty()
            expect(first_card.locator(".pp-artist")).not_to_be_empty()
            expect(first_card.locator("svg.pp-radar")).to_be_visible()
            expect(page.locator("#pp-vibe")).to_contain_text("Vibe")
            photo_ids = card_ids(page)
            assert len(photo_ids) >= 6
            shot(page, "02-results")
            # For the README: the first screen only (header, form, vibe, first row of cards).
            readme_png = ARTIFACTS / "02-results-screen.png"
            page.screenshot(
                path=str(readme_png), full_page=True, clip={"x": 0, "y": 0, "width": 1360, "height": 1250}
            )
            if os.environ.get("PIXELPLAY_UPDATE_README_SCREENSHOT") == "1":  # never dirty a CI checkout
                shutil.copyfile(readme_png, ROOT / "docs" / "img" / "results.png")

            # Refine with words: the ranking changes.
            field(page, "pp-text").fill("loud aggressive heavy metal")
            weight = page.locator("#pp-weight input[type=number]")
            weight.fill("0.9")
            weight.press("Enter")
            page.locator("#pp-search").click()
            wait_heading(page, "loud aggressive heavy metal")
            refined_ids = card_ids(page)
            assert refined_ids and refined_ids != photo_ids

            # Load more: a longer list, no duplicates.
            page.locator("#pp-load-more").click()
            page.wait_for_function(
                f"document.querySelectorAll('#pp-results article.pp-card').length > {len(refined_ids)}"
            )
            more_ids = card_ids(page)
            assert more_ids[: len(refined_ids)] == refined_ids and len(set(more_ids)) == len(more_ids)

            # Find similar from the first card.
            title = first_card.locator(".pp-title").inner_text()
            source_id = card_ids(page)[0]
            first_card.locator("button[data-action=similar]").click()
            wait_heading(page, f"Similar to {title}")
            assert source_id not in card_ids(page)
            shot(page, "03-similar")

            # Reload: still signed in, the last search is back, the history lists all three.
            page.reload()
            expect(page.locator("#pp-user-badge")).to_contain_text(name)
            wait_heading(page, "Your last search: Similar songs")
            page.get_by_role("tab", name="History").click()
            expect(page.locator("#pp-history li.pp-history-item")).to_have_count(3)
            expect(page.locator("#pp-history img.pp-thumb")).to_have_count(2)
            shot(page, "04-history")

            # Phone width: the grid collapses, nothing overflows sideways.
            page.get_by_role("tab", name="Search").click()
            fits_a_phone(page, "05-phone")

            page.locator("#pp-sign-out").click()
            expect(page.locator("#pp-sign-in")).to_be_visible()
            expect(page.locator("#pp-notice")).to_contain_text("signed out")
            page.reload()
            expect(page.locator("#pp-sign-in")).to_be_visible()  # the token is gone from storage
            shot(page, "06-signed-out")
            assert not [e for e in errors if not re.search(r"ResizeObserver", e)], errors
        except Exception:
            shot(page, "failure")  # the page as it was when a step failed
            raise
        finally:
            browser.close()
