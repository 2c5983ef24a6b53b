"""A newly registered, signed-in user's page in headless Chromium, in front of the UI stack's real
services: the setup and teardown the feature browser tests share."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.processes import running_service
from tests.ui.test_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    FIRST_LOAD_MS,
    TIMEOUT_MS,
    register,
    shot,
)


@contextmanager
def signed_in_page(ui_stack: Any, name: str) -> Iterator[Any]:
    """The UI started on ``ui_stack``, a desktop-sized page signed in as a new user. On the way out
    the page must have raised no script error; on a failure the page is saved as ``<name>-failure``."""
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with running_service("services.ui.app:app", ui_stack.env, timeout_s=90) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        try:
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)
            expect(page.locator("#pp-sign-in")).to_be_visible(timeout=FIRST_LOAD_MS)
            # The page's load event sets the banner and resets the sign-in tabs: a "Create account"
            # click before it ends is undone (seen under load), so wait for the banner first.
            expect(page.locator("#pp-demo-banner")).to_contain_text("Demo model", timeout=FIRST_LOAD_MS)
            register(page, name[:1] + secrets.token_hex(4), "Browser-Test-Pass-9")
            yield page
            assert not [e for e in errors if "ResizeObserver" not in e], errors
        except Exception:
            shot(page, f"{name}-failure")
            raise
        finally:
            browser.close()
