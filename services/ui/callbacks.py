"""Every Gradio event handler of the UI, in one place.

Each handler returns a dict keyed by *slot* names ("results", "notice", "session", ...);
``app.py`` maps the slots to components. Handlers therefore run (and are tested) without a
browser or a Blocks, against real services. A handler never raises: any failure becomes a plain
sentence in the "notice" slot, and a rejected session token signs the user out.

Session: the token lives in an HttpOnly cookie that page scripts cannot read (``session.py``);
every page load reads it from the request and validates it with the auth service before showing
anything of the account. Within one page, ``{"token", "user"}`` is kept in a server-side
``gr.State`` (Gradio never sends a State's value to the browser).
"""

import base64
import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from services.common.http import ServiceError
from services.common.playlists import export_filename, spotify_links, to_csv, to_m3u
from services.ui.backend import Backend
from services.ui.cards import ACTIONS, hits_songs, results_html
from services.ui.errors import SESSION_EXPIRED, SessionExpired, is_session_error, plain_message
from services.ui.history import describe_entry, history_html
from services.ui.images import Upload, read_upload, thumbnail_data_url
from services.ui.session import session_token
from services.ui.similarity import similar_by
from services.ui.vibe import vibe_summary

log = logging.getLogger("pixelplay.ui")

SIGNED_OUT: dict[str, Any] = {"token": None, "user": None}
# Slots every handler that talks to the auth service may update (to sign an expired session out).
VIEW_SLOTS = ("session", "auth_view", "app_view", "user_badge", "notice", "auth_tabs")
SEARCH_SLOTS = ("results", "vibe", "load_more", "search_state")
FILTER_SLOTS = ("genres", "year_min", "year_max", "filter_options", "catalogs")
MAX_EMPTY_PAGES = 3  # "load more" skips at most this many pages that bring nothing new


def slots(*names: str) -> Callable:
    """Declare which slots a handler may return (``app.py`` wires exactly these as outputs)."""

    def mark(fn: Callable) -> Callable:
        fn.slots = tuple(dict.fromkeys(names))
        return fn

    return mark


def notice_html(text: str, kind: str = "error") -> str:
    """The message strip above the results ("error", "info" or "ok"); "" hides it."""
    if not text:
        return ""
    role = "alert" if kind == "error" else "status"
    return f'<div class="pp-notice pp-notice-{kind}" role="{role}">{escape(text)}</div>'


def user_badge_html(user: dict[str, Any] | None) -> str:
    if not user:
        return ""
    return f'<span class="pp-user">Signed in as <b>{escape(str(user.get("username", "")))}</b></span>'


def view(session: dict[str, Any] | None, message: str = "", kind: str = "error") -> dict[str, Any]:
    """The slots that switch between the sign-in screen and the app."""
    signed_in = bool(session and session.get("token"))
    out = {} if signed_in else {"auth_tabs": gr.update(selected="signin")}
    return out | {
        "session": session if signed_in else dict(SIGNED_OUT),
        "auth_view": gr.update(visible=not signed_in),
        "app_view": gr.update(visible=signed_in),
        "user_badge": user_badge_html(session.get("user") if signed_in else None),
        "notice": notice_html(message, kind),
    }


def event_data(evt: Any) -> dict[str, Any]:
    """The payload a ``trigger('click', {...})`` in the HTML components sent."""
    data = getattr(evt, "_data", None)
    return data if isinstance(data, dict) else {}


def filters_from(
    genres: Sequence[str] | None,
    year_min: float | None,
    year_max: float | None,
    options: dict | None,
    catalogs: Sequence[str] | None = None,
) -> dict[str, Any] | None:
    """The Filters object for the search service; ``None`` when nothing narrows the search.

    A year bound equal to the catalog's own bound is left out: songs without a year would
    otherwise be filtered away by a range that the user never set. Without the catalog's range
    (search ``/filters`` failed) the sliders still hold placeholders, so no year bound is sent.
    """
    options = options or {}
    out: dict[str, Any] = {}
    if genres:
        out["genres"] = list(genres)
    if catalogs:  # imported catalogs beside the bundled one (docs/catalog.md)
        out["sources"] = list(catalogs)
    lo, hi = options.get("year_min"), options.get("year_max")
    if lo is not None and year_min is not None and int(year_min) > lo:
        out["year_min"] = int(year_min)
    if hi is not None and year_max is not None and int(year_max) < hi:
        out["year_max"] = int(year_max)
    return out or None


def decode_data_url(url: str | None) -> bytes | None:
    """The bytes of a ``data:image/...;base64,`` URL (a stored thumbnail); ``None`` otherwise."""
    if not url or not url.startswith("data:image/") or ";base64," not in url:
        return None
    try:
        return base64.b64decode(url.split(",", 1)[1], validate=True)
    except ValueError:
        return None


class Callbacks:
    """The UI's event handlers, bound to one ``Backend`` (the three service clients)."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self.settings = backend.settings
        # Card buttons -> handler (the same names as cards.ACTIONS).
        self.card_handlers: dict[str, Callable[..., dict[str, Any]]] = {
            "similar": self._similar,
            "like": lambda session, state, track_id: self._feedback(session, state, track_id, liked=True),
            "dislike": lambda session, state, track_id: self._feedback(session, state, track_id, liked=False),
        }
        missing = set(ACTIONS) - set(self.card_handlers)
        assert not missing, f"card actions without a handler: {missing}"
        # History kinds whose screen lives in its own module: kind -> rerun(session, entry).
        self.reruns: dict[str, Callable[[dict, dict[str, Any]], dict[str, Any]]] = {}

    # --- helpers -------------------------------------------------------------------------------
    def _fail(self, exc: BaseException) -> dict[str, Any]:
        """A failure as slots: the plain message, and the sign-in screen for a dead session."""
        if isinstance(exc, SessionExpired) or is_session_error(exc):
            return view(None, SESSION_EXPIRED)
        return {"notice": notice_html(plain_message(exc))}

    @staticmethod
    def _token(session: dict[str, Any] | None) -> str:
        token = (session or {}).get("token")
        if not token:
            raise SessionExpired()
        return token

    def _history_slots(self, token: str) -> dict[str, Any]:
        page = self.backend.history(token, limit=self.settings.ui_history_limit)
        items = list(page.get("items") or [])
        return {"history": history_html(items, page.get("total")), "history_state": items}

    def _signed_in(self, session: dict[str, Any], message: str, kind: str = "ok") -> dict[str, Any]:
        """Everything shown right after sign-in or a page reload with a valid session."""
        out = view(session, message, kind)
        try:
            out.update(self._history_slots(session["token"]))
        except Exception as exc:
            if is_session_error(exc):
                raise
            # The account works without its history: sign in anyway and say what is missing.
            text = f"Your search history could not be loaded: {plain_message(exc)}"
            out.update({"history": notice_html(text), "history_state": [], "notice": notice_html(text)})
        out.update(self._restore_last(out["history_state"]))
        return out

    def _restore_last(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """The newest history entry's results, fetched again by track id, so a reload finds the
        last search where it was (scores are not stored, so the cards show none)."""
        if not items:
            return self._page_slots(empty_search_state(), "")
        entry = items[0]
        hits = []
        for track_id in (entry.get("result_track_ids") or [])[: self.settings.ui_page_size]:
            try:
                hits.append({"score": None, "song": self.backend.song(track_id), "explanation": []})
            except ServiceError as exc:
                if exc.status < 500:  # a song removed from the index is skipped
                    log.info("last search: song %s not shown: %s", track_id, exc)
                    continue
                # Search is down: one failure (after its retries) is enough; the page loads
                # without the last results instead of waiting on every song.
                return self._page_slots(empty_search_state(), "") | {
                    "notice": notice_html(plain_message(exc))
                }
            except Exception as exc:  # noqa: BLE001 - one odd song must not break signing in
                log.warning("last search: song %s not shown: %s", track_id, exc)
        # kind and text too, so the restored list can be named (e.g. when saved to Spotify).
        state = empty_search_state() | {
            "hits": hits,
            "heading": f"Your last search: {describe_entry(entry)}",
            "kind": entry.get("kind"),
            "text": entry.get("text"),
        }
        return self._page_slots(state, "")

    def _page_slots(self, state: dict[str, Any], empty: str = "No songs matched. Try fewer filters.") -> dict:
        hits = state.get("hits") or []
        songs = [song for song, _, _ in hits_songs(hits)]
        vibe = vibe_summary(songs)
        return {
            "results": results_html(hits, state.get("heading", ""), empty),
            "vibe": f'<div class="pp-vibe"><span>Vibe</span> {escape(vibe)}</div>' if vibe else "",
            "load_more": gr.update(visible=state.get("next_offset") is not None),
            "search_state": state,
        }

    def _photo_page(
        self, session: dict | None, upload: Upload, text: str, weight: float, filters: dict | None, limit: int
    ) -> dict[str, Any]:
        """The first page for a photo, for a session auth still accepts (``_live_token``)."""
        self._live_token(session)
        return self.backend.search_photo(upload, text, weight, filters, limit)

    def _live_token(self, session: dict | None) -> str:
        """The session's token once auth has confirmed it: asked before any photo goes to the
        encoder, so a dead or forged session never gets an image decoded (the expensive,
        memory-hungry step)."""
        token = self._token(session)
        self.backend.me(token)
        return token

    def _record(self, token: str, entry: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """Store a search in the history; returns the refreshed history slots and a warning
        ("" when stored). A rejected token propagates: the caller signs the user out."""
        try:
            self.backend.add_history(token, entry)
        except Exception as exc:
            if is_session_error(exc):
                raise
            return {}, f"The search worked but could not be saved to your history: {plain_message(exc)}"
        return self._history_slots(token), ""

    def _show_page(
        self, session: dict, state: dict, entry: dict[str, Any], message: str = ""
    ) -> dict[str, Any]:
        """Show a fresh first page and store its search in the history."""
        token = self._token(session)
        entry["result_track_ids"] = [song.track_id for song, _, _ in hits_songs(state["hits"])]
        history, warning = self._record(token, entry)
        out = self._page_slots(state)
        out.update(history)
        note = warning or message
        out["notice"] = notice_html(note, "error" if warning else "info")
        out["tabs"] = gr.update(selected="search")
        return out

    # --- page load and account -----------------------------------------------------------------
    @slots(*VIEW_SLOTS, "demo_banner", *FILTER_SLOTS, "history", "history_state", *SEARCH_SLOTS)
    def load(self, request: gr.Request | None = None) -> dict[str, Any]:
        """Page (re)load: the model banner and filter options, then the session cookie, checked
        with the auth service; a token it rejects shows sign-in with "session expired"."""
        out: dict[str, Any] = {}
        out.update(self._model_banner())
        out.update(self._filter_options())
        filter_error = out.pop("filter_error", "")
        out.update(self._session_from_cookie(request))
        if filter_error and not out.get("notice"):
            out["notice"] = notice_html(filter_error)
        return out

    def _session_from_cookie(self, request: gr.Request | None, message: str = "") -> dict[str, Any]:
        token = session_token(request)
        if not token:
            return view(None)
        try:
            user = self.backend.me(token)
            return self._signed_in({"token": token, "user": user}, message)
        except Exception as exc:  # noqa: BLE001 - shown to the user in plain words
            return view(None) | self._fail(exc)

    def _model_banner(self) -> dict[str, Any]:
        try:
            info = self.backend.model_info()
        except Exception as exc:  # noqa: BLE001
            return {"demo_banner": notice_html(plain_message(exc))}
        if info.get("is_pretrained"):
            return {"demo_banner": ""}
        return {
            "demo_banner": '<div class="pp-banner" role="status">'
            "<b>Demo model — rankings are meaningless.</b> The encoder runs "
            f"{escape(str(info.get('model_id', 'an untrained model')))}, not pretrained CLIP weights.</div>"
        }

    def _filter_options(self) -> dict[str, Any]:
        try:
            options = self.backend.filter_options()
        except Exception as exc:  # noqa: BLE001 - searching still works without the filter lists
            return {"filter_error": plain_message(exc)}
        lo, hi = options.get("year_min"), options.get("year_max")
        sources = list(options.get("sources") or [])
        out = {
            "genres": gr.update(choices=list(options.get("genres") or [])),
            "filter_options": options,
            "catalogs": gr.update(choices=sources, visible=len(sources) > 1),  # only with an import
        }
        if lo is not None and hi is not None:
            out["year_min"] = gr.update(minimum=lo, maximum=hi, value=lo)
            out["year_max"] = gr.update(minimum=lo, maximum=hi, value=hi)
        return out

    @slots(*VIEW_SLOTS, "history", "history_state", *SEARCH_SLOTS, "login_password")
    def sign_in(self, login: str, error: str, request: gr.Request | None = None) -> dict[str, Any]:
        """After the browser posted the password to ``/session/login`` (``session.SIGN_IN_JS``):
        ``error`` is that route's refusal in plain words, "" when the cookie is now set."""
        if error:
            return {"notice": notice_html(error), "login_password": ""}
        out = self._session_from_cookie(request)
        out["login_password"] = ""
        return out

    @slots("notice", "auth_tabs", "register_password")
    def register(
        self, username: str, email: str, password: str, request: gr.Request | None = None
    ) -> dict[str, Any]:
        """Start the account; the person then enters the mailed code (or, in development, where
        the account exists at once, signs in: the session cookie only comes from /session/login)."""
        if not (username or "").strip() or not (email or "").strip() or not password:
            return {"notice": notice_html("Fill in a username, an email address and a password.")}
        try:
            client = getattr(request, "client", None)  # the browser, as the proxy setting resolved it
            user = self.backend.register(
                username.strip(), email.strip(), password, getattr(client, "host", None)
            )
        except Exception as exc:  # noqa: BLE001
            return {"notice": notice_html(plain_message_login(exc))}
        if user is None:
            return {
                "notice": notice_html(
                    f"Almost there: we sent a confirmation code to {email.strip()}. "
                    "Enter it below to finish creating your account.",
                    "info",
                ),
                "register_password": "",
            }
        return self._account_ready(username.strip())

    @slots("notice", "auth_tabs", "register_password", "reg_code")
    def confirm_registration(self, code: str) -> dict[str, Any]:
        if not (code or "").strip():
            return {"notice": notice_html("Enter the confirmation code from the email.")}
        try:
            user = self.backend.confirm_registration(code.strip())
        except Exception as exc:  # noqa: BLE001
            return {"notice": notice_html(plain_message_login(exc))}
        return self._account_ready(user["username"]) | {"reg_code": ""}

    @staticmethod
    def _account_ready(username: str) -> dict[str, Any]:
        return {
            "notice": notice_html(f"Welcome to PixelPlay, {username}! Sign in with your new account.", "ok"),
            "auth_tabs": gr.update(selected="signin"),
            "register_password": "",
        }

    @slots("notice")
    def forgot_password(self, login: str) -> dict[str, Any]:
        if not (login or "").strip():
            return {"notice": notice_html("Enter your username or email first.")}
        try:
            self.backend.forgot_password(login.strip())
        except Exception as exc:  # noqa: BLE001
            return {"notice": notice_html(plain_message_login(exc))}
        # The same words whether or not the account exists (the service answers the same too).
        return {
            "notice": notice_html(
                "If that account exists, a reset code is on its way by email. "
                "Enter it below with your new password.",
                "info",
            )
        }

    @slots("notice", "reset_password")
    def reset_password(self, reset_token: str, new_password: str) -> dict[str, Any]:
        if not (reset_token or "").strip() or not new_password:
            return {"notice": notice_html("Enter the reset code from the email and a new password.")}
        try:
            self.backend.reset_password(reset_token.strip(), new_password)
        except Exception as exc:  # noqa: BLE001
            return {"notice": notice_html(plain_message_login(exc))}
        return {
            "notice": notice_html("Password changed. Sign in with your new password.", "ok"),
            "reset_password": "",
        }

    @slots(*VIEW_SLOTS, "history", "history_state", *SEARCH_SLOTS)
    def sign_out(self) -> dict[str, Any]:
        """After the browser's ``/session/logout`` revoked the session and cleared the cookie."""
        out = view(None, "You are signed out.", "info")
        out.update({"history": "", "history_state": []})
        out.update(self._page_slots(empty_search_state(), ""))
        return out

    # --- search --------------------------------------------------------------------------------
    @slots(*VIEW_SLOTS, *SEARCH_SLOTS, "history", "history_state", "tabs")
    def search(
        self,
        session: dict[str, Any] | None,
        photo: Any,
        text: str | None,
        weight: float | None,
        genres: list[str] | None,
        year_min: float | None,
        year_max: float | None,
        options: dict | None,
        catalogs: list[str] | None = None,
        progress=gr.Progress(),
    ) -> dict[str, Any]:
        """Photo (with optional refine text weighted by ``weight``) or text alone → first page."""
        text = (text or "").strip()
        weight = 0.3 if weight is None else float(weight)
        filters = filters_from(genres, year_min, year_max, options, catalogs)
        limit = self.settings.ui_page_size
        try:
            self._token(session)
            upload = read_upload(photo, self.settings.ui_max_upload_bytes)
            if upload is None and not text:
                return {"notice": notice_html("Upload a photo or describe a mood first.")}
            progress(0.2, desc="Finding songs that match")
            if upload is not None:
                kind = "hybrid" if text else "image"
                page = self._photo_page(session, upload, text, weight, filters, limit)
                heading = f"Songs for your photo + “{text}”" if text else "Songs for your photo"
            else:
                kind, page = "text", self.backend.search_text(text, filters, limit)
                heading = f"Songs for “{text}”"
            progress(0.8, desc="Saving to your history")
            state = state_from_page(kind, page, heading, filters) | {"text": text, "weight": weight}
            entry = history_entry(
                kind,
                text=text,
                weight=weight if kind == "hybrid" else None,
                filters=filters,
                upload=upload,
                max_px=self.settings.ui_thumbnail_px,
            )
            return self._show_page(session, state, entry)
        except Exception as exc:  # noqa: BLE001
            return self._fail(exc)

    @slots("notice", *SEARCH_SLOTS)
    def load_more(self, state: dict[str, Any] | None) -> dict[str, Any]:
        """The next page of the current search, without songs already on screen."""
        state = dict(state or {})
        if state.get("next_offset") is None:
            return {"load_more": gr.update(visible=False)}
        seen = {song.track_id for song, _, _ in hits_songs(state.get("hits") or [])}
        if state.get("source_track_id"):
            seen.add(state["source_track_id"])
        limit = self.settings.ui_page_size
        added: list[dict[str, Any]] = []
        try:
            for _ in range(MAX_EMPTY_PAGES):
                page = self._next_page(state, limit)
                state["next_offset"] = page.get("next_offset")
                for hit in page.get("hits") or []:
                    track_id = (hit.get("song") or {}).get("track_id")
                    if track_id and track_id not in seen:
                        seen.add(track_id)
                        added.append(hit)
                if added or state["next_offset"] is None:
                    break
        except Exception as exc:  # noqa: BLE001
            return self._fail(exc)
        state["hits"] = list(state.get("hits") or []) + added
        out = self._page_slots(state)
        out["notice"] = "" if added else notice_html("No more songs for this search.", "info")
        return out

    def _next_page(self, state: dict[str, Any], limit: int) -> dict[str, Any]:
        # "Similar" pages come from the same recommend query; every other search pages through
        # its query vector, which is what the search service returned with the first page.
        if state.get("kind") == "similar" and state.get("source_track_id"):
            return self.backend.similar(
                state["source_track_id"], state.get("filters"), limit, state["next_offset"]
            )
        if state.get("kind") == "feedback" and state.get("feedback"):
            return self.backend.feedback(
                state["query_vector"], state["feedback"], state.get("filters"), limit,
                state["next_offset"], state.get("model_id"),
            )  # fmt: skip
        return self.backend.next_page(
            state["query_vector"], state.get("filters"), limit, state["next_offset"], state.get("model_id")
        )

    @slots(*VIEW_SLOTS, *SEARCH_SLOTS, "history", "history_state", "tabs")
    def card_action(
        self, session: dict[str, Any] | None, state: dict[str, Any] | None, evt: gr.EventData
    ) -> dict[str, Any]:
        """A button on a result card (``data-action``), e.g. "Find similar"."""
        data = event_data(evt)
        handler = self.card_handlers.get(str(data.get("action", "")))
        track_id = str(data.get("track_id") or "")
        if handler is None or not track_id:
            return {}  # a click on the card itself, not on one of its buttons
        return handler(session, state or {}, track_id)

    def _similar(
        self, session: dict[str, Any] | None, state: dict[str, Any], track_id: str
    ) -> dict[str, Any]:
        """Songs like one card's song, under "Similar to <title> — <artist>"."""
        try:
            self._token(session)
            source = next(
                (s for s, _, _ in hits_songs(state.get("hits") or []) if s.track_id == track_id), None
            )
            if source is None:
                source_song = self.backend.song(track_id)
                label = f"{source_song.get('title', track_id)} — {source_song.get('artist', '')}"
            else:
                label = f"{source.title} — {source.artist}"
            filters = state.get("filters")
            page = self.backend.similar(track_id, filters, self.settings.ui_page_size)
            new_state = state_from_page("similar", page, f"Similar to {label}{similar_by(page)}", filters)
            new_state["source_track_id"] = track_id
            entry = history_entry("similar", text=label, filters=filters, source_track_id=track_id)
            return self._show_page(session, new_state, entry)
        except Exception as exc:  # noqa: BLE001
            return self._fail(exc)

    def _feedback(
        self, session: dict[str, Any] | None, state: dict[str, Any], track_id: str, liked: bool
    ) -> dict[str, Any]:
        """Thumbs up / down on a card (issue #9): the results again, refined by every rating given
        to this search so far; stored in the history as a "feedback" entry that can be rerun."""
        try:
            self._token(session)
            if not state.get("query_vector"):
                return {"notice": notice_html("Run a search first, then rate its songs.", "info")}
            ratings = rate(state.get("feedback"), track_id, liked)
            if state.get("source_track_id"):  # "similar" results: the source song is liked by definition
                ratings = rate(ratings, state["source_track_id"], True)
            filters = state.get("filters")
            page = self.backend.feedback(
                state["query_vector"], ratings, filters, self.settings.ui_page_size, 0, state.get("model_id")
            )
            base_heading = state.get("base_heading") or state.get("heading") or "Your search"
            ups, downs = len(ratings["positive_track_ids"]), len(ratings["negative_track_ids"])
            heading = f"{base_heading} · refined by {ups} liked and {downs} disliked"
            new_state = state_from_page("feedback", page, heading, filters) | {
                "feedback": ratings,
                "base_heading": base_heading,
                "base_kind": state.get("base_kind") or state.get("kind"),
                "text": state.get("text"),
                "source_track_id": state.get("source_track_id"),
            }
            source = state.get("source_track_id")
            entry = history_entry("feedback", text=state.get("text"), filters=filters, source_track_id=source)
            entry["feedback"] = {
                **ratings,
                "base_kind": new_state["base_kind"],
                "source_label": base_heading,
                # The query itself, so "Run again" refines the very same search (~5 kB for 512 floats).
                "query_vector": [round(x, 6) for x in page.get("query_vector") or state["query_vector"]],
                "model_id": page.get("model_id") or state.get("model_id"),
            }
            return self._show_page(session, new_state, entry)
        except Exception as exc:  # noqa: BLE001
            return self._fail(exc)

    @slots("result_tools", "links_box", "export_m3u", "export_csv", "export_links")
    def exports(self, state: dict[str, Any] | None) -> dict[str, Any]:
        """The songs on screen as M3U and CSV downloads and Spotify links to copy (issue #9)."""
        songs = [song for song, _, _ in hits_songs((state or {}).get("hits") or [])]
        if not songs:
            hidden = gr.update(visible=False)
            return {"result_tools": hidden, "links_box": hidden, "export_links": ""}
        out = {"links_box": gr.update(visible=True), "export_links": spotify_links(songs)}
        try:
            m3u = write_export("m3u", to_m3u(songs))
            csv_file = write_export("csv", to_csv(songs))
        except OSError as exc:  # a full or read-only temp dir: the links still work
            log.warning("exports not written: %s", exc)
            return out | {"result_tools": gr.update(visible=False)}
        return out | {
            "result_tools": gr.update(visible=True),
            "export_m3u": gr.update(value=str(m3u)),
            "export_csv": gr.update(value=str(csv_file)),
        }

    # --- history -------------------------------------------------------------------------------
    @slots(*VIEW_SLOTS, "history", "history_state")
    def refresh_history(self, session: dict[str, Any] | None) -> dict[str, Any]:
        try:
            return self._history_slots(self._token(session))
        except Exception as exc:  # noqa: BLE001
            return self._fail(exc)

    @slots(*VIEW_SLOTS, "history", "history_state")
    def clear_history(self, session: dict[str, Any] | None) -> dict[str, Any]:
        try:
            token = self._token(session)
            self.backend.clear_history(token)
            out = self._history_slots(token)
        except Exception as exc:  # noqa: BLE001
            return self._fail(exc)
        out["notice"] = notice_html("Your search history is cleared.", "info")
        return out

    @slots(
        *VIEW_SLOTS,
        *SEARCH_SLOTS,
        "history",
        "history_state",
        "tabs",
        "text",
        "weight",
        "genres",
        "year_min",
        "year_max",
    )
    def history_action(
        self,
        session: dict[str, Any] | None,
        items: list[dict[str, Any]] | None,
        photo: Any,
        options: dict | None,
        evt: gr.EventData,
    ) -> dict[str, Any]:
        """ "Run again" or "Delete" on one history row."""
        data = event_data(evt)
        action, entry_id = data.get("action"), str(data.get("entry_id") or "")
        entry = next((e for e in items or [] if str(e.get("id")) == entry_id), None)
        if action not in ("rerun", "delete") or entry is None:
            return {}
        try:
            token = self._token(session)
            if action == "delete":
                self.backend.delete_history(token, entry_id)
                return self._history_slots(token) | {
                    "notice": notice_html("Search removed from history.", "info")
                }
            return self._rerun(session, entry, photo, options)
        except Exception as exc:  # noqa: BLE001
            return self._fail(exc)

    def _rerun(
        self, session: dict, entry: dict[str, Any], photo: Any, options: dict | None
    ) -> dict[str, Any]:
        """Run a past search again with its text, weight and filters (also put back in the form)."""
        kind, text, filters = entry.get("kind"), entry.get("text") or "", entry.get("filters") or None
        weight = float(entry["weight"]) if entry.get("weight") is not None else 0.3
        limit = self.settings.ui_page_size
        form = {
            "text": text if kind in ("text", "hybrid") else "",
            "weight": weight,
            "genres": gr.update(value=list((filters or {}).get("genres") or [])),
        }
        opts = options or {}
        if opts.get("year_min") is not None:
            form["year_min"] = (filters or {}).get("year_min") or opts["year_min"]
            form["year_max"] = (filters or {}).get("year_max") or opts["year_max"]
        if kind in self.reruns:
            return self.reruns[kind](session, entry) | form
        if kind == "similar" and entry.get("source_track_id"):
            page = self.backend.similar(entry["source_track_id"], filters, limit)
            state = state_from_page("similar", page, f"Similar to {text}{similar_by(page)}", filters)
            state["source_track_id"] = entry["source_track_id"]
            new_entry = history_entry(
                "similar", text=text, filters=filters, source_track_id=entry["source_track_id"]
            )
            return self._show_page(session, state, new_entry) | form
        fb = entry.get("feedback") or {}
        if kind == "feedback" and fb.get("query_vector"):
            ratings = rate(fb, None, True)
            page = self.backend.feedback(fb["query_vector"], ratings, filters, limit, 0, fb.get("model_id"))
            heading = f"{fb.get('source_label') or 'Your search'} · refined by your ratings"
            state = state_from_page("feedback", page, heading, filters) | {
                "feedback": ratings, "base_heading": fb.get("source_label"), "base_kind": fb.get("base_kind"),
                "text": text, "source_track_id": entry.get("source_track_id"),
            }  # fmt: skip
            new_entry = history_entry(
                "feedback", text=text, filters=filters, source_track_id=entry.get("source_track_id")
            )
            new_entry["feedback"] = fb
            return self._show_page(session, state, new_entry) | form
        if kind == "text":
            page = self.backend.search_text(text, filters, limit)
            state = state_from_page("text", page, f"Songs for “{text}”", filters) | {"text": text}
            return self._show_page(session, state, history_entry("text", text=text, filters=filters)) | form
        # A photo search: the original photo is not stored, only its fingerprint and a thumbnail.
        # Use the photo still in the form when it is the same one, else the stored thumbnail.
        upload = read_upload(photo, self.settings.ui_max_upload_bytes)
        message = ""
        if upload is None or upload.fingerprint != entry.get("image_fingerprint"):
            thumb = decode_data_url(entry.get("thumbnail"))
            if thumb is None:
                return {"notice": notice_html("This search's photo is not stored; upload it again to rerun.")}
            upload = Upload(thumb, "thumbnail.jpg", "image/jpeg")
            message = "Ran again from the saved thumbnail (the original photo is not stored)."
        page = self._photo_page(session, upload, text, weight, filters, limit)
        heading = f"Songs for your photo + “{text}”" if text else "Songs for your photo"
        state = state_from_page(kind or "image", page, heading, filters) | {"text": text, "weight": weight}
        new_entry = history_entry(
            kind or "image", text=text, weight=entry.get("weight"), filters=filters, upload=None
        )
        new_entry["image_fingerprint"] = entry.get("image_fingerprint")
        new_entry["thumbnail"] = entry.get("thumbnail")
        return self._show_page(session, state, new_entry, message) | form


def plain_message_login(exc: BaseException) -> str:
    """Like ``plain_message``, but an auth 401 during sign-in means wrong credentials."""
    if is_session_error(exc):
        return getattr(exc, "detail", "") or "Wrong username, email or password."
    return plain_message(exc)


EXPORT_DIR = Path(tempfile.gettempdir()) / "pixelplay-exports"  # Gradio serves files from the temp dir


def write_export(kind: str, text: str) -> Path:
    """Write one export under a folder named after its content, so the same list reuses its file
    and two users' lists never overwrite each other."""
    digest = hashlib.sha256(f"{kind}\n{text}".encode()).hexdigest()[:16]
    path = EXPORT_DIR / digest / export_filename(kind)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")  # CSV already carries its CRLF endings
    return path


def rate(ratings: dict[str, Any] | None, track_id: str | None, liked: bool) -> dict[str, list[str]]:
    """The ratings with ``track_id`` liked (or disliked); a new rating replaces the opposite one."""
    up = [t for t in (ratings or {}).get("positive_track_ids") or [] if isinstance(t, str)]
    down = [t for t in (ratings or {}).get("negative_track_ids") or [] if isinstance(t, str)]
    if track_id:
        up, down = [t for t in up if t != track_id], [t for t in down if t != track_id]
        (up if liked else down).append(track_id)
    return {"positive_track_ids": up, "negative_track_ids": down}


def empty_search_state() -> dict[str, Any]:
    return {
        "kind": None,
        "hits": [],
        "heading": "",
        "query_vector": None,
        "next_offset": None,
        "filters": None,
    }


def state_from_page(kind: str, page: dict[str, Any], heading: str, filters: dict | None) -> dict[str, Any]:
    """What "load more" and "find similar" need to know about the search on screen."""
    return {
        "kind": kind,
        "hits": list(page.get("hits") or []),
        "heading": heading,
        "query_vector": page.get("query_vector"),
        "next_offset": page.get("next_offset"),
        "filters": filters,
        "model_id": page.get("model_id"),
    }


def history_entry(
    kind: str,
    *,
    text: str | None = None,
    weight: float | None = None,
    filters: dict | None = None,
    upload: Upload | None = None,
    max_px: int = 96,
    source_track_id: str | None = None,
    result_track_ids: Iterable[str] = (),
) -> dict[str, Any]:
    """The body of ``POST /history`` for one search (photo fingerprint + small thumbnail)."""
    return {
        "kind": kind,
        "text": text or None,
        "weight": weight,
        "filters": filters,
        "image_fingerprint": upload.fingerprint if upload else None,
        "thumbnail": thumbnail_data_url(upload.data, max_px) if upload else None,
        "source_track_id": source_track_id,
        "result_track_ids": list(result_track_ids),
        "feedback": None,
    }
