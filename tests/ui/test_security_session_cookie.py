"""The session token lives in an HttpOnly, SameSite=Lax cookie: page scripts cannot read it, other
sites cannot use it to sign a browser in or out, and a session has an absolute lifetime."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.security_stack import PASSWORD, mailed_code, register
from tests.processes import ROOT, running_service

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "security"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (scripts/install.sh --test installs it)"
)
def test_no_page_script_can_read_the_session_token(sec_stack):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    name = "c" + secrets.token_hex(4)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(60_000)
            blocked: list[str] = []  # the page must work under its own Content-Security-Policy
            page.on(
                "console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None
            )
            page.goto(sec_stack.ui)
            expect(page.locator("#pp-sign-in")).to_be_visible(timeout=120_000)
            # The page's load event resets the sign-in tabs: wait for it (it fills the banner), or
            # a quick "Create account" click is undone.
            expect(page.locator("#pp-demo-banner")).to_contain_text("Demo model", timeout=120_000)
            # Create the account as a person does: the form, then the code from the mail.
            page.get_by_role("tab", name="Create account").click()
            page.locator("#pp-reg-username input, #pp-reg-username textarea").first.fill(name)
            page.locator("#pp-reg-email input, #pp-reg-email textarea").first.fill(f"{name}@example.com")
            page.locator("#pp-reg-password input").first.fill(PASSWORD)
            page.locator("#pp-register").click()
            expect(page.locator("#pp-notice")).to_contain_text("we sent a confirmation code")
            code = mailed_code(
                sec_stack.database_url, f"{name}@example.com", "Confirm your PixelPlay account"
            )
            page.locator("#pp-reg-code input, #pp-reg-code textarea").first.fill(code)
            page.screenshot(path=str(ARTIFACTS / "register-confirm.png"), full_page=True)
            page.locator("#pp-reg-confirm").click()
            expect(page.locator("#pp-notice")).to_contain_text("Sign in with your new account")
            expect(page.locator("#pp-sign-in")).to_be_visible()
            page.locator("#pp-login input, #pp-login textarea").first.fill(name)
            page.locator("#pp-login-password input").first.fill(PASSWORD)
            page.locator("#pp-sign-in").click()
            expect(page.locator("#pp-user-badge")).to_contain_text(name)
            page.screenshot(path=str(ARTIFACTS / "signed-in.png"), full_page=True)
            cookie = next(c for c in context.cookies() if c["name"] == "pixelplay_session")
            token = cookie["value"]
            assert len(token) >= 40
            assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
            assert not cookie["secure"]  # plain http here; over https it is Secure (see below)
            seen_by_scripts = page.evaluate(
                """() => ({
                    cookie: document.cookie,
                    local: JSON.stringify(Object.entries(localStorage)),
                    session: JSON.stringify(Object.entries(sessionStorage)),
                    html: document.documentElement.outerHTML,
                })"""
            )
            for where, text in seen_by_scripts.items():
                assert token not in text, f"the session token is readable by page scripts in {where}"
            # The cookie still signs the browser in after a reload.
            page.reload()
            expect(page.locator("#pp-user-badge")).to_contain_text(name, timeout=120_000)
            page.locator("#pp-sign-out").click()
            expect(page.locator("#pp-sign-in")).to_be_visible()
            assert not [c for c in context.cookies() if c["name"] == "pixelplay_session"]
            assert not blocked, blocked
            assert (
                httpx.get(f"{sec_stack.auth}/me", headers={"Authorization": f"Bearer {token}"}).status_code
                == 401
            )
        finally:
            browser.close()


def test_the_cookie_is_secure_behind_an_https_proxy(sec_stack):
    name = "s" + secrets.token_hex(4)
    register(sec_stack, sec_stack.auth, name)
    r = httpx.post(
        f"{sec_stack.ui}/session/login",
        json={"login": name, "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"},
    )
    assert r.status_code == 200, r.text
    header = r.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and "secure" in header


def test_other_sites_cannot_sign_a_browser_in_or_out(sec_stack):
    name = "x" + secrets.token_hex(4)
    register(sec_stack, sec_stack.auth, name)
    body = {"login": name, "password": PASSWORD}
    evil = {"Origin": "https://evil.example"}
    assert httpx.post(f"{sec_stack.ui}/session/login", json=body, headers=evil).status_code == 403
    # A plain HTML form cannot send JSON: refused, no cookie.
    form = httpx.post(f"{sec_stack.ui}/session/login", data=body)
    assert form.status_code == 422 and "set-cookie" not in form.headers
    ok = httpx.post(f"{sec_stack.ui}/session/login", json=body)
    token = ok.cookies["pixelplay_session"]
    out = httpx.post(f"{sec_stack.ui}/session/logout", headers=evil, cookies={"pixelplay_session": token})
    assert out.status_code == 403
    assert httpx.get(f"{sec_stack.auth}/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_session_ends_at_its_absolute_lifetime_however_active(sec_stack):
    env = {**sec_stack.env, "PIXELPLAY_AUTH_SESSION_ABSOLUTE_DAYS": str(4 / 86400)}  # 4 s
    with running_service("services.auth.app:app", env, "/readyz", 120) as auth:
        name = "a" + secrets.token_hex(4)
        register(sec_stack, auth, name)
        token = httpx.post(f"{auth}/login", json={"login": name, "password": PASSWORD}).json()["token"]
        me = lambda: httpx.get(f"{auth}/me", headers={"Authorization": f"Bearer {token}"}).status_code  # noqa: E731
        assert me() == 200
        time.sleep(4.5)  # well inside the sliding 30 days, past the absolute lifetime
        assert me() == 401


def test_the_page_sends_security_headers(sec_stack):
    page = httpx.get(sec_stack.ui + "/")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "default-src 'self'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert page.headers["x-content-type-options"] == "nosniff"
    behind_https = httpx.get(sec_stack.ui + "/", headers={"X-Forwarded-Proto": "https"})
    assert behind_https.headers["strict-transport-security"].startswith("max-age=")
