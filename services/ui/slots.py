"""How a handler answers: a dict keyed by *slot* names ("results", "notice", "session", ...).

``app.py`` maps the slots to components, so handlers run (and are tested) without a browser or a
Blocks, against real services. A handler never raises: any failure becomes a plain sentence in
the "notice" slot (``fail``), and a rejected session token signs the user out.

Session: the token lives in an HttpOnly cookie that page scripts cannot read (``session.py``);
every page load reads it from the request and validates it with the auth service before showing
anything of the account. Within one page, ``{"token", "user"}`` is kept in a server-side
``gr.State`` (Gradio never sends a State's value to the browser).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

import gradio as gr

from services.common.contracts.auth import User
from services.ui.errors import SESSION_EXPIRED, SessionExpired, is_session_error, plain_message

Session = dict[str, Any]  # {"token": str | None, "user": User | None}
Slots = dict[str, Any]

SIGNED_OUT: Session = {"token": None, "user": None}
# Slots every handler that talks to the auth service may update (to sign an expired session out).
VIEW_SLOTS = ("session", "auth_view", "app_view", "user_badge", "notice", "auth_tabs")
SEARCH_SLOTS = ("results", "vibe", "load_more", "search_state")
HISTORY_SLOTS = ("history", "history_state")
FILTER_SLOTS = ("genres", "year_min", "year_max", "filter_options", "catalogs")
# Slots of the handlers that read or change the history list.
LIST_SLOTS = (*VIEW_SLOTS, *HISTORY_SLOTS)
# Slots of every handler that puts a new search on screen (and stores it in the history).
RESULT_SLOTS = (*VIEW_SLOTS, *SEARCH_SLOTS, *HISTORY_SLOTS, "tabs")


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


def user_badge_html(user: User | None) -> str:
    if not user:
        return ""
    return f'<span class="pp-user">Signed in as <b>{escape(user.username)}</b></span>'


def view(session: Session | None, message: str = "", kind: str = "error") -> Slots:
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


def fail(exc: BaseException) -> Slots:
    """A failure as slots: the plain message, and the sign-in screen for a dead session."""
    if isinstance(exc, SessionExpired) or is_session_error(exc):
        return view(None, SESSION_EXPIRED)
    return {"notice": notice_html(plain_message(exc))}


def event_data(evt: Any) -> dict[str, Any]:
    """The payload a ``trigger('click', {...})`` in the HTML components sent."""
    data = getattr(evt, "_data", None)
    return data if isinstance(data, dict) else {}
