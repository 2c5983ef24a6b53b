"""The UI's event handlers against the real encoder, search and auth processes (tiny model,
small indexed slice). No browser: the handlers return their slots as plain values."""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path

import gradio as gr
import psycopg
import pytest

from services.common.http import ServiceError, ServiceUnavailable
from services.ui.context import Context
from services.ui.errors import SESSION_EXPIRED
from services.ui.handlers import Handlers
from services.ui.query import decode_data_url
from services.ui.settings import UISettings
from tests.enricher.stack import wait_for
from tests.ui.helpers import browser, signed_in_session

pytestmark = pytest.mark.slow

PASSWORD = "Correct-Horse-42"


@pytest.fixture
def ui(ui_settings: UISettings):
    ctx = Context.from_settings(ui_settings)
    yield Handlers.build(ctx)
    ctx.close()


def _visible(update) -> bool:
    return update["visible"]


def _track_ids(html: str) -> list[str]:
    return re.findall(r'<article class="pp-card" data-track-id="([^"]+)"', html)


def _register(ui: Handlers) -> tuple[dict, str]:
    name = "u" + secrets.token_hex(4)
    out = ui.accounts.register(name, f"{name}@example.com", PASSWORD)
    assert "Sign in with your new account" in out["notice"], out["notice"]
    return signed_in_session(ui.ctx.auth, name, PASSWORD), name


def _upload(path: Path) -> dict:
    return {"path": str(path), "orig_name": path.name}


def _search(ui, session, photo=None, text="", weight=0.3, genres=None, options=None):
    return ui.search.search(
        session, photo, text, weight, genres, None, None, options or {}, progress=lambda *a, **k: None
    )


def test_a_new_account_signs_in_and_shows_the_app(ui):
    session, name = _register(ui)
    out = ui.accounts.load(browser(session))
    assert _visible(out["app_view"]) and not _visible(out["auth_view"])
    assert name in out["user_badge"]
    assert "No searches yet" in out["history"]
    # The tiny checkpoint is not pretrained CLIP: the banner must say so.
    assert "Demo model — rankings are meaningless" in out["demo_banner"]
    assert out["genres"]["choices"], "genre filter options come from search /filters"


def test_register_errors_are_the_auth_messages(ui):
    _, name = _register(ui)
    taken = ui.accounts.register(name, f"other-{name}@example.com", PASSWORD)
    assert "session" not in taken and "pp-notice-error" in taken["notice"]
    weak = ui.accounts.register("w" + secrets.token_hex(4), "w@example.com", "123")
    assert "session" not in weak and "pp-notice-error" in weak["notice"]
    assert "Traceback" not in weak["notice"] + taken["notice"]


def test_wrong_password_and_expired_session(ui):
    _, name = _register(ui)
    with pytest.raises(ServiceError) as refused:
        ui.ctx.auth.login(name, "not-the-password")
    assert refused.value.status == 401
    wrong = ui.accounts.sign_in(name, refused.value.detail)
    assert "session" not in wrong and "pp-notice-error" in wrong["notice"]
    out = ui.accounts.load(browser("forged-or-expired-token"))
    assert _visible(out["auth_view"]) and not _visible(out["app_view"])
    assert SESSION_EXPIRED in out["notice"] and out["session"]["token"] is None


def test_photo_search_pages_without_duplicates_and_is_stored_in_history(ui, photo_files):
    session, _ = _register(ui)
    first = _search(ui, session, _upload(photo_files["sunset"]))
    ids = _track_ids(first["results"])
    assert len(ids) == ui.ctx.limits.page_size
    assert "Songs for your photo" in first["results"] and '<svg class="pp-radar"' in first["results"]
    assert first["vibe"].startswith('<div class="pp-vibe">') and _visible(first["load_more"])
    state = first["search_state"]
    more = ui.search.load_more(state)
    all_ids = _track_ids(more["results"])
    assert all_ids[: len(ids)] == ids and len(all_ids) > len(ids)
    assert len(set(all_ids)) == len(all_ids), "load more must not repeat a song"
    entry = first["history_state"][0]
    assert entry.kind == "image" and entry.result_track_ids == ids
    assert entry.image_fingerprint == hashlib.sha256(photo_files["sunset"].read_bytes()).hexdigest()
    assert decode_data_url(entry.thumbnail)[:3] == b"\xff\xd8\xff"  # a JPEG thumbnail


def test_refine_text_changes_the_ranking(ui, photo_files):
    session, _ = _register(ui)
    photo = _upload(photo_files["night"])
    plain = _track_ids(_search(ui, session, photo)["results"])
    refined = _search(ui, session, photo, text="loud aggressive heavy metal", weight=0.9)
    assert "Songs for your photo + “loud aggressive heavy metal”" in refined["results"]
    assert _track_ids(refined["results"]) != plain
    assert refined["history_state"][0].kind == "hybrid" and refined["history_state"][0].weight == 0.9


def test_a_broken_file_shows_the_services_message_not_a_crash(ui, photo_files):
    session, _ = _register(ui)
    out = _search(ui, session, _upload(photo_files["broken"]))
    assert "pp-notice-error" in out["notice"] and "results" not in out
    assert "not available" not in out["notice"] and "went wrong" not in out["notice"]
    assert "We could not use this photo. The file is not an image." in out["notice"]
    assert "encoder" not in out["notice"].lower()


def test_find_similar_names_its_source_and_excludes_it(ui, photo_files):
    session, _ = _register(ui)
    first = _search(ui, session, _upload(photo_files["sunset"]))
    source = first["search_state"].hits[0].song
    evt = gr.EventData(None, {"action": "similar", "track_id": source.track_id})
    out = ui.search.card_action(session, first["search_state"], evt)
    assert f"Similar to {source.title} — {source.artist}".replace("&", "&amp;")[:40] in out["results"]
    assert source.track_id not in _track_ids(out["results"]) and _track_ids(out["results"])
    assert out["history_state"][0].kind == "similar"
    assert out["history_state"][0].source_track_id == source.track_id
    more = ui.search.load_more(out["search_state"])
    assert source.track_id not in _track_ids(more["results"])
    # A click on the card body (no action) changes nothing.
    assert ui.search.card_action(session, first["search_state"], gr.EventData(None, {})) == {}


def test_reload_restores_the_last_search_and_history_actions(ui, photo_files):
    session, _ = _register(ui)
    text = ui.search.search(
        session, None, "calm acoustic evening", 0.3, None, None, None, None, progress=lambda *a, **k: None
    )
    photo = _search(ui, session, _upload(photo_files["sunset"]))
    reloaded = ui.accounts.load(browser(session))
    assert _track_ids(reloaded["results"]) == _track_ids(photo["results"])
    assert "Your last search: Photo" in reloaded["results"]
    items = reloaded["history_state"]
    assert [i.kind for i in items] == ["image", "text"]
    # Run the text search again: same results, and it becomes the newest entry.
    rerun = ui.history.action(
        session, items, None, None, gr.EventData(None, {"action": "rerun", "entry_id": str(items[1].id)})
    )
    assert (
        _track_ids(rerun["results"]) == _track_ids(text["results"])
        and rerun["text"] == "calm acoustic evening"
    )
    # Run the photo search again without the photo in the form: it uses the stored thumbnail.
    again = ui.history.action(
        session, items, None, None, gr.EventData(None, {"action": "rerun", "entry_id": str(items[0].id)})
    )
    assert "saved thumbnail" in again["notice"] and _track_ids(again["results"])
    items = again["history_state"]
    deleted = ui.history.action(
        session, items, None, None, gr.EventData(None, {"action": "delete", "entry_id": str(items[0].id)})
    )
    assert [i.id for i in deleted["history_state"]] == [i.id for i in items[1:]]
    cleared = ui.history.clear(session)
    assert cleared["history_state"] == [] and "No searches yet" in cleared["history"]


def test_filters_reach_the_search(ui):
    session, _ = _register(ui)
    options = ui.accounts.load(browser(session))["filter_options"]
    genre = options.genres[0]
    out = ui.search.search(
        session, None, "happy summer", 0.3, [genre], None, None, options, progress=lambda *a, **k: None
    )
    songs = [h.song for h in out["search_state"].hits]
    assert songs and all(genre in [s.genre, *s.genres] for s in songs)
    assert out["history_state"][0].filters == {"genres": [genre]}


def test_sign_out_shows_the_sign_in_screen(ui):
    session, _ = _register(ui)
    out = ui.accounts.sign_out()
    assert out["session"]["token"] is None and _visible(out["auth_view"])
    ui.ctx.auth.logout(session["token"])  # what /session/logout does before this handler runs
    assert SESSION_EXPIRED in ui.accounts.load(browser(session))["notice"]


def test_forgot_and_reset_password(ui, ui_stack):
    _, name = _register(ui)
    assert "If that account exists" in ui.accounts.forgot_password(name)["notice"]
    assert "If that account exists" in ui.accounts.forgot_password("nobody-" + name)["notice"]

    def reset_mail() -> str | None:
        # The 202 comes back before the background task has written the mail.
        with psycopg.connect(ui_stack.database_url) as conn:
            row = conn.execute(
                "SELECT body FROM mail_outbox WHERE recipient = %s ORDER BY created_at DESC LIMIT 1",
                (f"{name}@example.com",),
            ).fetchone()
        return row[0] if row else None

    body = wait_for(reset_mail, timeout_s=10, what="the password-reset mail in the outbox")
    code = re.search(r"\n    (\S+)\n", body).group(1)
    bad = ui.accounts.reset_password("not-a-real-code", "Another-Good-Pass-7")
    assert "pp-notice-error" in bad["notice"]
    ok = ui.accounts.reset_password(code, "Another-Good-Pass-7")
    assert "Password changed" in ok["notice"]
    assert signed_in_session(ui.ctx.auth, name, "Another-Good-Pass-7")["token"]


def test_services_down_are_named_in_plain_words(ui_settings: UISettings):
    dead = ui_settings.model_copy(
        update={"search_url": "http://127.0.0.1:9", "encoder_url": "http://127.0.0.1:9", "http_retries": 1}
    )
    ctx = Context.from_settings(dead)
    try:
        ui = Handlers.build(ctx)
        out = ui.search.search(
            {"token": "t"}, None, "anything", 0.3, None, None, None, None, progress=lambda *a, **k: None
        )
        assert "Finding songs is not available right now" in out["notice"]
        assert "Reading photos is not available right now" in ui.accounts.load(None)["demo_banner"]
    finally:
        ctx.close()


def test_sign_in_still_works_when_the_history_cannot_be_loaded(ui, monkeypatch):
    session, name = _register(ui)

    def broken_history(*args, **kwargs):
        raise ServiceError("auth", 503, "history table is being migrated")

    monkeypatch.setattr(ui.ctx.auth, "history", broken_history)
    out = ui.accounts.sign_in(name, "", browser(session))
    assert out["session"]["token"] and _visible(out["app_view"])
    assert "history could not be loaded" in out["notice"] and out["history_state"] == []
    assert _visible(ui.accounts.load(browser(session))["app_view"])


def test_reload_with_search_down_opens_the_app_and_asks_search_once(ui, monkeypatch):
    session, _ = _register(ui)
    _search(ui, session, text="quiet rainy morning")
    calls = []

    def search_down(track_id):
        calls.append(track_id)
        raise ServiceUnavailable("search", 503, "search unreachable")

    monkeypatch.setattr(ui.ctx.search, "song", search_down)
    out = ui.accounts.load(browser(session))
    assert _visible(out["app_view"]) and len(out["history_state"]) == 1
    assert "Finding songs is not available right now" in out["notice"]
    assert len(calls) == 1, "one failed song lookup is enough to know search is down"
