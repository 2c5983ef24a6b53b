""" "Save to Spotify" in the UI: the connection bar and the save buttons.

The auth service holds the tokens and talks to Spotify (docs/spotify.md); this module only asks
it over HTTP. Connecting goes through two browser routes (``routes/spotify.py``) that come back to
the page with ``?spotify=<outcome>``, shown by the bar.

Any result list can be saved: the results on screen (a photo or text search, similar songs, a
refined list, the restored last search) or a history entry's stored results; a list saved before
asks "update that playlist or make a new one?".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import gradio as gr

from services.common.contracts.auth import HistoryEntry
from services.common.contracts.spotify import SpotifyStatus
from services.common.http import ServiceError
from services.ui.context import Context
from services.ui.errors import SESSION_EXPIRED, SessionExpired, is_session_error, plain_message
from services.ui.query import SearchState
from services.ui.slots import VIEW_SLOTS, Session, Slots, event_data, slots, view
from services.ui.slots import notice_html as notice
from services.ui.spotify_lists import (
    REJECTED_NAMED,
    TrackList,
    description,
    list_from_history,
    list_from_results,
    playlist_name,
    result_message,
    saved_notice,
    spotify_words,
)

log = logging.getLogger("pixelplay.ui")

ENABLE_HINT = (
    "Save to Spotify is off on this server. To turn it on, an operator registers a Spotify app and sets "
    "PIXELPLAY_AUTH_SPOTIFY_CLIENT_ID, PIXELPLAY_AUTH_SPOTIFY_REDIRECT_URL and "
    "PIXELPLAY_AUTH_SPOTIFY_TOKEN_KEY (see docs/spotify.md)."
)
# What the page says after Spotify's sign-in sent the browser back (the ``?spotify=`` outcome).
RETURN_MESSAGES: dict[str, tuple[str, str]] = {
    "connected": ("Spotify is connected. Use “Save to Spotify” on any results or past search.", "ok"),
    "denied": (
        "You chose not to give PixelPlay access to your Spotify account, so nothing was connected.",
        "info",
    ),
    "refused": (
        "That Spotify sign-in could not be used: it was not started from this PixelPlay session, it "
        "expired, or it was already used. Choose “Connect Spotify” to try again.",
        "error",
    ),
    "signin": ("Sign in to PixelPlay first, then connect Spotify.", "error"),
    "unavailable": (
        "Spotify could not be reached to finish connecting. Please try again in a moment.",
        "error",
    ),
    "off": (ENABLE_HINT, "info"),
}
FORGET_OUTCOME_JS = """
() => {
  const url = new URL(window.location.href);
  if (url.searchParams.has("spotify")) {
    url.searchParams.delete("spotify");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
}
"""
SPOTIFY_CSS = """
#pp-spotify-bar { align-items: center; }
.pp-spotify-line, .pp-spotify-off, .pp-spotify-question { margin: 0; font-size: 0.92rem; }
/* The setting names are long unbroken words: let them wrap on a phone instead of overflowing. */
.pp-spotify-off { overflow-wrap: anywhere; }
.pp-spotify-connect { font-weight: 600; }
/* History rows carry a "Save to Spotify" button, shown only while Spotify is connected. */
#pp-history .pp-btn-spotify { display: none; }
#pp-history.pp-spotify-on .pp-btn-spotify { display: inline-block; }
"""
# "history_spotify" is the History list itself: its CSS class shows the rows' Spotify buttons.
BAR_SLOTS = ("spotify_status", "spotify_disconnect", "spotify_save", "spotify_choice", "history_spotify")
SAVE_SLOTS = (*VIEW_SLOTS, *BAR_SLOTS, "spotify_choice_text", "spotify_pending")


class SpotifyPanel:
    """The Spotify bar's event handlers; each returns a slot dict like every UI handler."""

    def __init__(self, ctx: Context, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.ctx = ctx
        self.clock = clock

    # --- layout ----------------------------------------------------------------------------------
    @staticmethod
    def build_bar() -> Slots:
        """The connection line under the user badge, and the update-or-new question."""
        with gr.Row(elem_id="pp-spotify-bar", equal_height=True):
            status = gr.HTML(elem_id="pp-spotify-status")
            disconnect = gr.Button(
                "Disconnect Spotify", size="sm", variant="secondary", scale=0, visible=False,
                elem_id="pp-spotify-disconnect",
            )  # fmt: skip
        # The question on its own line, the two answers under it (side by side when they fit).
        with gr.Column(visible=False, elem_id="pp-spotify-choice") as choice:
            choice_text = gr.HTML(elem_id="pp-spotify-choice-text")
            with gr.Row():
                update = gr.Button(
                    "Update that playlist", size="sm", variant="primary", scale=0, min_width=180,
                    elem_id="pp-spotify-update",
                )  # fmt: skip
                new = gr.Button(
                    "Make a new playlist", size="sm", scale=0, min_width=180, elem_id="pp-spotify-new"
                )
        return {
            "spotify_status": status,
            "spotify_disconnect": disconnect,
            "spotify_choice": choice,
            "spotify_choice_text": choice_text,
            "spotify_update": update,
            "spotify_new": new,
            "spotify_pending": gr.State(None),
        }

    @staticmethod
    def build_save_button() -> Slots:
        save = gr.Button(
            "Save to Spotify", size="sm", variant="primary", visible=False, elem_id="pp-spotify-save"
        )
        return {"spotify_save": save}

    def wire(self, wire: Callable, comps: dict[str, Any]) -> None:
        """Attach the handlers with ``app._wire`` (slot dicts → components)."""
        comps = comps | {"history_spotify": comps["history"]}
        session = comps["session"]
        # Once the bar has shown a sign-in's outcome, drop ``?spotify=`` so a reload does not repeat it.
        wire(session.change, self.refresh, [session], comps).then(None, js=FORGET_OUTCOME_JS)
        wire(comps["spotify_save"].click, self.save_results, [session, comps["search_state"]], comps)
        pending = comps["spotify_pending"]
        wire(comps["spotify_update"].click, self.save_update, [session, pending], comps)
        wire(comps["spotify_new"].click, self.save_new, [session, pending], comps)
        wire(comps["spotify_disconnect"].click, self.disconnect, [session], comps)
        wire(comps["history"].click, self.save_history_entry, [session, comps["history_state"]], comps)

    # --- handlers --------------------------------------------------------------------------------
    @slots(*BAR_SLOTS, "notice")
    def refresh(self, session: Session | None, request: gr.Request | None = None) -> Slots:
        """The bar for the signed-in user, and the message of a sign-in that just came back."""
        token = (session or {}).get("token")
        if not token:
            return self._bar(None)
        try:
            status = self.ctx.auth.spotify_status(token)
        except Exception as exc:  # noqa: BLE001 - the rest of the app works without Spotify
            if is_session_error(exc):
                return self._bar(None)
            return self._bar(None) | {"spotify_status": notice(f"Spotify: {plain_message(exc)}")}
        out = self._bar(status)
        outcome = returned_outcome(request)
        if outcome in RETURN_MESSAGES:
            text, kind = RETURN_MESSAGES[outcome]
            out["notice"] = notice(text, kind)
        return out

    @slots(*SAVE_SLOTS)
    def save_results(self, session: Session | None, state: SearchState | None) -> Slots:
        tracks = list_from_results(state, self.clock())
        if tracks is None:
            return {"notice": notice("Run a search first, then save its songs to Spotify.", "info")}
        return self._save(session, tracks, "ask")

    @slots(*SAVE_SLOTS)
    def save_history_entry(
        self, session: Session | None, items: list[HistoryEntry] | None, evt: gr.EventData
    ) -> Slots:
        data = event_data(evt)
        if data.get("action") != "spotify":
            return {}  # "Run again" / "Delete" belong to the history handler
        entry = next((e for e in items or [] if str(e.id) == str(data.get("entry_id"))), None)
        tracks = list_from_history(entry, self.clock()) if entry else None
        if tracks is None:
            return {"notice": notice("This past search has no stored results to save.", "info")}
        return self._save(session, tracks, "ask")

    def save_list(
        self,
        session: Session | None,
        name: str,
        track_ids: list[str],
        labels: dict[str, str] | None = None,
    ) -> Slots:
        """Any other list (a moodboard, for example): a name and track ids; the same slots and the
        same update-or-new question as the buttons here."""
        tracks = TrackList(
            playlist_name(name, self.clock()), description(name, self.clock()), track_ids, labels or {}
        )
        return self._save(session, tracks, "ask")

    @slots(*SAVE_SLOTS)
    def save_update(self, session: Session | None, pending: dict[str, Any] | None) -> Slots:
        return self._answer(session, pending, "update")

    @slots(*SAVE_SLOTS)
    def save_new(self, session: Session | None, pending: dict[str, Any] | None) -> Slots:
        return self._answer(session, pending, "new")

    @slots(*VIEW_SLOTS, *BAR_SLOTS)
    def disconnect(self, session: Session | None) -> Slots:
        token = (session or {}).get("token")
        try:
            if not token:
                raise SessionExpired()
            self.ctx.auth.spotify_disconnect(token)
            status = self.ctx.auth.spotify_status(token)
        except Exception as exc:  # noqa: BLE001
            return self._failure(exc)
        return self._bar(status) | {
            "notice": notice(
                "Spotify is disconnected: PixelPlay no longer holds access to your account. You can also "
                "remove PixelPlay under Apps in your Spotify account settings.",
                "info",
            )
        }

    # --- helpers ---------------------------------------------------------------------------------
    def _answer(self, session: Session | None, pending: dict[str, Any] | None, choice: str) -> Slots:
        if not pending:
            return {"spotify_choice": gr.update(visible=False)}
        return self._save(session, TrackList(**pending), choice)

    def _save(self, session: Session | None, tracks: TrackList, on_existing: str) -> Slots:
        token = (session or {}).get("token")
        hidden = {"spotify_choice": gr.update(visible=False), "spotify_pending": None}
        try:
            if not token:
                raise SessionExpired()
            result = self.ctx.auth.spotify_save(token, tracks.request(on_existing))
        except Exception as exc:  # noqa: BLE001
            return hidden | self._failure(exc, token)
        if result.status == "exists" and result.playlist is not None:
            earlier = result.playlist
            when = earlier.saved_at.strftime("%Y-%m-%d %H:%M UTC")
            question = (
                f"You saved this list to Spotify before as “{earlier.name}” ({when}, "
                f"{earlier.added} of {earlier.total} songs). Update that playlist, or make a new one?"
            )
            return {
                "spotify_choice": gr.update(visible=True),
                "spotify_choice_text": f'<p class="pp-spotify-question">{escape(question)}</p>',
                "spotify_pending": vars(tracks),
                "notice": "",
            }
        text, kind = result_message(result, self._labels(result.rejected, tracks.labels))
        return hidden | {"notice": saved_notice(text, kind, result.playlist.url if result.playlist else None)}

    def _labels(self, rejected: list[str], known: dict[str, str]) -> dict[str, str]:
        """Titles for the rejected songs the message names (a history entry's songs are not on
        screen: they are looked up in search, and stay named by id if that fails)."""
        labels = dict(known)
        for track_id in [t for t in rejected[:REJECTED_NAMED] if t not in known]:
            try:
                song = self.ctx.search.song(track_id)
            except Exception as exc:  # noqa: BLE001 - the id still names the song
                log.info("rejected song %s not looked up: %s", track_id, exc)
                continue
            labels[track_id] = f"{song.title} — {song.artist}"
        return labels

    def _failure(self, exc: BaseException, token: str | None = None) -> Slots:
        """A refused save or disconnect: sign-in screen for a dead session; otherwise the message,
        and the bar refreshed (a 403 means Spotify access ended and the link is gone)."""
        if is_session_error(exc) or isinstance(exc, SessionExpired):
            return view(None, SESSION_EXPIRED)
        out: dict[str, Any] = {"notice": notice(spotify_words(exc))}
        if isinstance(exc, ServiceError) and exc.status == 403 and token:
            try:
                out |= self._bar(self.ctx.auth.spotify_status(token))
            except Exception as again:  # noqa: BLE001 - the message above already says what failed
                log.info("Spotify status not refreshed: %s", again)
        return out

    @staticmethod
    def _bar(status: SpotifyStatus | None) -> Slots:
        """The bar for a ``SpotifyStatus`` (None: signed out, nothing shown)."""
        connected = bool(status and status.enabled and status.connected)
        if status is None:
            html = ""
        elif not status.enabled:
            html = f'<p class="pp-spotify-off">{escape(ENABLE_HINT)}</p>'
        elif not status.connected:
            html = (
                '<p class="pp-spotify-line">Save playlists to your Spotify account: '
                '<a class="pp-spotify-connect" id="pp-spotify-connect" href="spotify/connect">'
                "Connect Spotify</a></p>"
            )
        else:
            who = escape(status.display_name or status.spotify_user_id or "your account")
            html = f'<p class="pp-spotify-line">Spotify connected as <b>{who}</b></p>'
        out = {
            "spotify_status": html,
            "spotify_disconnect": gr.update(visible=connected),
            "spotify_save": gr.update(visible=connected),
            "history_spotify": gr.update(elem_classes=["pp-spotify-on"] if connected else []),
        }
        if not connected:
            out["spotify_choice"] = gr.update(visible=False)
        return out


def returned_outcome(request: gr.Request | None) -> str | None:
    """The ``?spotify=`` outcome of the page URL (Gradio's event requests carry the page as Referer)."""
    if request is None:
        return None
    params = dict(getattr(request, "query_params", {}) or {})
    if "spotify" not in params:
        referer = (getattr(request, "headers", {}) or {}).get("referer", "")
        params = {k: v[0] for k, v in parse_qs(urlsplit(referer).query).items()}
    return params.get("spotify")
