""" "Save to Spotify" end to end in headless Chromium: the UI and an auth process configured for
Spotify, in front of the fake Spotify (tests/fake_spotify.py) on 127.0.0.1.

sign in → search → Connect Spotify (the browser goes to the fake's authorize page and back through
the UI's redirect URL) → "connected" → Save to Spotify → "added N of N" → save again asks
update-or-new → a history row saves too → Disconnect Spotify → a refused consent says so.
Screenshots go to test-artifacts/ui/spotify-*.png.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from html import escape
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet

from services.common.clients.auth import AuthClient
from services.common.contracts.spotify import ConnectFinish
from services.common.embedded import free_port
from services.ui.context import Context
from services.ui.errors import SESSION_EXPIRED
from services.ui.settings import UISettings
from services.ui.spotify import ENABLE_HINT, SpotifyPanel
from tests.fake_spotify import CLIENT_ID, FakeSpotify, running_fake_spotify
from tests.processes import running_service
from tests.ui.helpers import history_entry, hit, results
from tests.ui.test_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    FIRST_LOAD_MS,
    TIMEOUT_MS,
    card_ids,
    field,
    fits_a_phone,
)

pytestmark = pytest.mark.slow


@dataclass
class SpotifyStack:
    ui_url: str
    auth_url: str
    fake: FakeSpotify


@pytest.fixture(scope="module")
def spotify_stack(ui_stack) -> Iterator[SpotifyStack]:
    """The fake Spotify, an auth process with Spotify on (same database as the UI stack), and the UI."""
    ui_port = free_port()
    redirect = f"http://127.0.0.1:{ui_port}/spotify/callback"
    with running_fake_spotify({redirect}) as fake:
        env = ui_stack.env | {
            "PIXELPLAY_AUTH_SPOTIFY_CLIENT_ID": CLIENT_ID,
            "PIXELPLAY_AUTH_SPOTIFY_REDIRECT_URL": redirect,
            "PIXELPLAY_AUTH_SPOTIFY_TOKEN_KEY": Fernet.generate_key().decode(),
            "PIXELPLAY_AUTH_SPOTIFY_ACCOUNTS_URL": fake.url,
            "PIXELPLAY_AUTH_SPOTIFY_API_URL": f"{fake.url}/v1",
        }
        with running_service("services.auth.app:app", env, ready_path="/readyz", timeout_s=120) as auth_url:
            env["PIXELPLAY_AUTH_URL"] = auth_url
            with running_service("services.ui.app:app", env, timeout_s=90, port=ui_port) as ui_url:
                yield SpotifyStack(ui_url, auth_url, fake)


@pytest.fixture
def fake(spotify_stack: SpotifyStack) -> FakeSpotify:
    spotify_stack.fake.reset()
    return spotify_stack.fake


def panel_for(auth_url: str, search_url: str | None = None) -> SpotifyPanel:
    settings = UISettings(
        auth_url=auth_url, http_retries=2, **({"search_url": search_url} if search_url else {})
    )
    return SpotifyPanel(Context.from_settings(settings))


def signed_in(auth_url: str) -> dict:
    """A new account's session as the UI keeps it: ``{"token", "user"}``."""
    name, password = "h" + secrets.token_hex(4), "Handler-Test-Pass-9"
    with AuthClient(auth_url) as auth:
        auth.register(name, f"{name}@example.com", password)
        answer = auth.login(name, password)
    return {"token": answer.token, "user": answer.user}


def connected(stack: SpotifyStack) -> dict:
    """Signed in and connected to the fake Spotify (the browser's redirects played with httpx)."""
    session = signed_in(stack.auth_url)
    with AuthClient(stack.auth_url) as auth:
        start = auth.spotify_connect(session["token"])
        location = httpx.get(start.authorize_url, follow_redirects=False).headers["location"]
        back = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert auth.spotify_callback(session["token"], ConnectFinish(**back)).connected
    return session


IDS = ["4uLU6hMCjMI75M1A2tKUQC", "1301WleyT98MSxVHPZCA6M", "7ouMYWpwJ422jRcDASZB7P"]
RESULTS = results(
    "hybrid", "sunset", [hit(t, title=f"Song {i}", artist="Band") for i, t in enumerate(IDS)],
    "Songs for your photo + “sunset”",
)  # fmt: skip


def test_spotify_faults_are_sentences_on_the_page(spotify_stack: SpotifyStack, fake: FakeSpotify):
    panel = panel_for(spotify_stack.auth_url)
    session = connected(spotify_stack)

    fake.fail("POST", "/v1/me/playlists", 429, retry_after="120")
    out = panel.save_results(session, RESULTS)
    assert "Spotify asked PixelPlay to slow down; try again in 120 s." in out["notice"]
    assert not fake.playlists

    fake.fail("POST", "/v1/me/playlists", 503)
    out = panel.save_results(session, RESULTS)
    assert "Spotify is having trouble right now" in out["notice"]
    assert len(fake.calls_to("POST", "/v1/me/playlists")) == 2  # neither the UI nor auth repeated it
    assert not fake.playlists

    fake.refused_tracks.add(IDS[1])
    # The batch is refused (one bad track), its first half goes in, the second half hits a 500.
    fake.fail("POST", "/v1/playlists/", 500, skip=2)
    out = panel.save_results(session, RESULTS)
    assert "pp-notice-error" in out["notice"]
    assert (
        "Only part of the list is in Spotify: added 1 of 3 songs to “PixelPlay · sunset photo · "
        in out["notice"]
    )
    assert "answered 500" in out["notice"] and "Update that playlist" in out["notice"]

    out = panel.save_results(session, RESULTS)  # saved before: asks update or new
    assert "You saved this list to Spotify before" in out["spotify_choice_text"]
    out = panel.save_update(session, out["spotify_pending"])
    assert "Saved to Spotify: added 2 of 3 songs" in out["notice"]
    assert "Spotify did not accept: Song 1 — Band." in out["notice"]

    out = panel.save_list(session, "my moodboard", IDS[:1])  # a plain list from another feature
    assert "Saved to Spotify: added 1 of 1 songs to “PixelPlay · my moodboard · " in out["notice"]

    fake.revoke()
    fake.expire_access_tokens()
    out = panel.save_results(session, replace(RESULTS, hits=RESULTS.hits[:2]))  # a list not saved yet
    assert "connect Spotify again" in out["notice"]
    assert "Connect Spotify" in out["spotify_status"]  # the bar offers to connect again


def test_a_history_row_names_the_songs_spotify_rejected(
    spotify_stack: SpotifyStack, fake: FakeSpotify, ui_stack
):
    panel = panel_for(spotify_stack.auth_url, ui_stack.env["PIXELPLAY_SEARCH_URL"])
    session = connected(spotify_stack)
    songs = [h.song for h in panel.ctx.search.search_text("calm piano", limit=3).hits]
    fake.refused_tracks.add(songs[0].track_id)
    entry = history_entry(kind="text", text="calm piano", result_track_ids=[s.track_id for s in songs])
    click = SimpleNamespace(_data={"action": "spotify", "entry_id": str(entry.id)})
    out = panel.save_history_entry(session, [entry], click)
    assert "added 2 of 3 songs to “PixelPlay · calm piano · " in out["notice"]
    assert escape(f"Spotify did not accept: {songs[0].title} — {songs[0].artist}.") in out["notice"]
    assert panel.save_history_entry(session, [entry], SimpleNamespace(_data={"action": "rerun"})) == {}


def test_browser_routes_refuse_cross_site_and_forged_requests(spotify_stack: SpotifyStack, fake: FakeSpotify):
    """The UI process as an attacker meets it: a cookie-holding browser, driven from elsewhere."""
    session = signed_in(spotify_stack.auth_url)
    name = session["user"].username
    with httpx.Client(base_url=spotify_stack.ui_url, follow_redirects=False) as browser:
        signin = browser.post("/session/login", json={"login": name, "password": "Handler-Test-Pass-9"})
        assert signin.status_code == 200, signin.text
        cross = browser.get("/spotify/connect", headers={"Sec-Fetch-Site": "cross-site"})
        assert cross.status_code == 303 and cross.headers["location"].endswith("/?spotify=refused")
        forged = browser.get("/spotify/callback", params={"state": "made-up", "code": "stolen"})
        assert forged.headers["location"].endswith("/?spotify=refused")
        assert not fake.calls_to("POST", "/api/token")
        own = browser.get("/spotify/connect", headers={"Sec-Fetch-Site": "same-origin"})
        assert own.status_code == 303 and own.headers["location"].startswith(f"{fake.url}/authorize?")
    with httpx.Client(base_url=spotify_stack.ui_url, follow_redirects=False) as stranger:  # no cookie
        assert stranger.get("/spotify/connect").headers["location"].endswith("/?spotify=signin")


def test_a_dead_session_goes_back_to_sign_in(spotify_stack: SpotifyStack, fake: FakeSpotify):
    panel = panel_for(spotify_stack.auth_url)
    session = connected(spotify_stack)
    with AuthClient(spotify_stack.auth_url) as auth:
        auth.logout(session["token"])
    out = panel.save_results(session, RESULTS)
    assert SESSION_EXPIRED in out["notice"] and out["app_view"]["visible"] is False
    assert not fake.playlists


def test_without_a_client_id_the_bar_says_how_to_enable_it(ui_stack):
    auth_url = ui_stack.env["PIXELPLAY_AUTH_URL"]  # the UI stack's auth has no Spotify settings
    out = panel_for(auth_url).refresh(signed_in(auth_url))
    status = out["spotify_status"]
    assert "PIXELPLAY_AUTH_SPOTIFY_CLIENT_ID" in status and "docs/spotify.md" in status
    assert ENABLE_HINT.split(".")[0] in out["spotify_status"]
    assert out["spotify_save"]["visible"] is False and out["spotify_disconnect"]["visible"] is False


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"spotify-{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (scripts/install.sh --test installs it)"
)
def test_connect_save_disconnect_in_chromium(spotify_stack: SpotifyStack, fake: FakeSpotify):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name, password = "s" + secrets.token_hex(4), "Spotify-Test-Pass-9"
    with AuthClient(spotify_stack.auth_url) as auth:
        auth.register(name, f"{name}@example.com", password)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(spotify_stack.ui_url)
            expect(page.locator("#pp-sign-in")).to_be_visible(timeout=FIRST_LOAD_MS)
            field(page, "pp-login").fill(name)
            field(page, "pp-login-password").fill(password)
            page.locator("#pp-sign-in").click()
            expect(page.locator("#pp-user-badge")).to_contain_text(name)
            connect = page.locator("#pp-spotify-connect")
            expect(connect).to_be_visible()
            expect(page.locator("#pp-spotify-save")).to_be_hidden()

            field(page, "pp-text").fill("warm sunset by the sea")
            page.locator("#pp-search").click()
            page.locator("#pp-results .pp-results-heading", has_text="warm sunset").wait_for()
            shot(page, "01-not-connected")

            # Connect: the browser leaves for the (fake) Spotify and comes back through the redirect URL.
            connect.click()
            expect(page.locator("#pp-spotify-status")).to_contain_text("Spotify connected as Fake Listener")
            expect(page.locator("#pp-notice")).to_contain_text("Spotify is connected")
            page.wait_for_function("!window.location.search.includes('spotify=')")
            page.reload()  # the outcome was shown once; a reload does not repeat it
            expect(page.locator("#pp-spotify-status")).to_contain_text("Spotify connected as Fake Listener")
            expect(page.locator("#pp-notice")).not_to_contain_text("Spotify is connected")
            authorize = [c for c in fake.calls if c[1] == "/authorize"]
            assert len(authorize) == 1

            # The last search is back after the round trip; save it.
            page.locator("#pp-results .pp-results-heading", has_text="warm sunset").wait_for()
            ids = card_ids(page)
            assert ids
            page.locator("#pp-spotify-save").click()
            expect(page.locator("#pp-notice")).to_contain_text(
                f"Saved to Spotify: added {len(ids)} of {len(ids)} songs"
            )
            expect(page.locator("#pp-notice a", has_text="Open in Spotify")).to_be_visible()
            (playlist,) = fake.playlists.values()
            assert playlist.items == [f"spotify:track:{t}" for t in ids]
            assert playlist.name.startswith("PixelPlay · warm sunset by the sea · ") and not playlist.public
            shot(page, "02-saved")

            # The same list again: update or new?
            page.locator("#pp-spotify-save").click()
            expect(page.locator("#pp-spotify-choice-text")).to_contain_text(
                "You saved this list to Spotify before"
            )
            shot(page, "03-update-or-new")
            fits_a_phone(page, "spotify-03-phone")  # the bar and the question fit a phone
            page.locator("#pp-spotify-new").click()
            expect(page.locator("#pp-notice")).to_contain_text("Saved to Spotify")
            expect(page.locator("#pp-spotify-choice")).to_be_hidden()
            assert len(fake.playlists) == 2

            # A past search from the History tab.
            page.get_by_role("tab", name="History").click()
            row_button = page.locator("#pp-history button[data-action=spotify]").first
            expect(row_button).to_be_visible()
            row_button.click()
            expect(page.locator("#pp-spotify-choice-text")).to_contain_text(
                "You saved this list to Spotify before"
            )
            page.locator("#pp-spotify-update").click()
            expect(page.locator("#pp-notice")).to_contain_text("Saved to Spotify")
            assert len(fake.playlists) == 2
            # The history handler ignores this button's clicks without a Gradio error toast.
            expect(page.locator(".toast-body.error")).to_have_count(0)
            shot(page, "04-history-saved")

            # Disconnect: the bar offers to connect again, the history button goes away.
            page.locator("#pp-spotify-disconnect").click()
            expect(page.locator("#pp-notice")).to_contain_text("Spotify is disconnected")
            expect(page.locator("#pp-spotify-connect")).to_be_visible()
            expect(row_button).to_be_hidden()
            shot(page, "05-disconnected")

            # A forged redirect (a state this session never started) is refused and connects nothing.
            page.goto(f"{spotify_stack.ui_url}/spotify/callback?state=forged-state&code=stolen-code")
            expect(page.locator("#pp-notice")).to_contain_text("That Spotify sign-in could not be used")
            expect(page.locator("#pp-spotify-connect")).to_be_visible()
            assert not fake.calls_to("POST", "/api/token")[1:]  # only the one real code exchange

            # Refusing consent at Spotify is a normal outcome with its own message.
            fake.decision = "deny"
            page.locator("#pp-spotify-connect").click()
            expect(page.locator("#pp-notice")).to_contain_text("You chose not to give PixelPlay access")
            expect(page.locator("#pp-spotify-connect")).to_be_visible()
            shot(page, "06-denied")
            assert not [e for e in errors if not re.search(r"ResizeObserver", e)], errors
        except Exception:
            shot(page, "failure")
            raise
        finally:
            browser.close()
