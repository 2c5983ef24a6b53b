"""The page load and the account forms: sign in, create an account, reset a password, sign out."""

from __future__ import annotations

import logging
from html import escape

import gradio as gr

from services.common.contracts.auth import HistoryEntry
from services.common.contracts.search import SearchHit
from services.common.http import ServiceError
from services.ui.context import Context
from services.ui.errors import is_session_error, plain_message
from services.ui.history import describe_entry
from services.ui.query import SearchState
from services.ui.results import Results, page_slots
from services.ui.session import session_token
from services.ui.slots import (
    FILTER_SLOTS,
    HISTORY_SLOTS,
    SEARCH_SLOTS,
    VIEW_SLOTS,
    Session,
    Slots,
    fail,
    notice_html,
    slots,
    view,
)

log = logging.getLogger("pixelplay.ui")


def plain_message_login(exc: BaseException) -> str:
    """Like ``plain_message``, but an auth 401 during sign-in means wrong credentials."""
    if is_session_error(exc):
        return getattr(exc, "detail", "") or "Wrong username, email or password."
    return plain_message(exc)


def _account_ready(username: str) -> Slots:
    return {
        "notice": notice_html(f"Welcome to PixelPlay, {username}! Sign in with your new account.", "ok"),
        "auth_tabs": gr.update(selected="signin"),
        "register_password": "",
    }


class Accounts:
    def __init__(self, ctx: Context, results: Results):
        self.ctx = ctx
        self.results = results

    # --- page load -----------------------------------------------------------------------------
    @slots(*VIEW_SLOTS, "demo_banner", *FILTER_SLOTS, *HISTORY_SLOTS, *SEARCH_SLOTS)
    def load(self, request: gr.Request | None = None) -> Slots:
        """Page (re)load: the model banner and filter options, then the session cookie, checked
        with the auth service; a token it rejects shows sign-in with "session expired"."""
        out: Slots = {}
        out.update(self._model_banner())
        out.update(self._filter_options())
        filter_error = out.pop("filter_error", "")
        out.update(self._session_from_cookie(request))
        if filter_error and not out.get("notice"):
            out["notice"] = notice_html(filter_error)
        return out

    def _session_from_cookie(self, request: gr.Request | None, message: str = "") -> Slots:
        token = session_token(request)
        if not token:
            return view(None)
        try:
            user = self.ctx.auth.me(token)
            return self._signed_in({"token": token, "user": user}, message)
        except Exception as exc:  # noqa: BLE001 - shown to the user in plain words
            return view(None) | fail(exc)

    def _model_banner(self) -> Slots:
        try:
            info = self.ctx.encoder.info()
        except Exception as exc:  # noqa: BLE001
            return {"demo_banner": notice_html(plain_message(exc))}
        if info.is_pretrained:
            return {"demo_banner": ""}
        return {
            "demo_banner": '<div class="pp-banner" role="status">'
            "<b>Demo model — rankings are meaningless.</b> The encoder runs "
            f"{escape(info.model_id)}, not pretrained CLIP weights.</div>"
        }

    def _filter_options(self) -> Slots:
        try:
            options = self.ctx.search.filters()
        except Exception as exc:  # noqa: BLE001 - searching still works without the filter lists
            return {"filter_error": plain_message(exc)}
        lo, hi = options.year_min, options.year_max
        out = {
            "genres": gr.update(choices=list(options.genres)),
            "filter_options": options,
            # Only with an imported catalog beside the bundled one.
            "catalogs": gr.update(choices=list(options.sources), visible=len(options.sources) > 1),
        }
        if lo is not None and hi is not None:
            out["year_min"] = gr.update(minimum=lo, maximum=hi, value=lo)
            out["year_max"] = gr.update(minimum=lo, maximum=hi, value=hi)
        return out

    def _signed_in(self, session: Session, message: str, kind: str = "ok") -> Slots:
        """Everything shown right after sign-in or a page reload with a valid session."""
        out = view(session, message, kind)
        try:
            out.update(self.results.history_slots(session["token"]))
        except Exception as exc:
            if is_session_error(exc):
                raise
            # The account works without its history: sign in anyway and say what is missing.
            text = f"Your search history could not be loaded: {plain_message(exc)}"
            out.update({"history": notice_html(text), "history_state": [], "notice": notice_html(text)})
        out.update(self._restore_last(out["history_state"]))
        return out

    def _restore_last(self, items: list[HistoryEntry]) -> Slots:
        """The newest history entry's results, fetched again by track id, so a reload finds the
        last search where it was (scores are not stored, so the cards show none)."""
        if not items:
            return page_slots(SearchState(), "")
        entry = items[0]
        hits = []
        for track_id in entry.result_track_ids[: self.ctx.limits.page_size]:
            try:
                hits.append(SearchHit(score=None, song=self.ctx.search.song(track_id)))
            except ServiceError as exc:
                if exc.status < 500:  # a song removed from the index is skipped
                    log.info("last search: song %s not shown: %s", track_id, exc)
                    continue
                # Search is down: one failure (after its retries) is enough; the page loads
                # without the last results instead of waiting on every song.
                return page_slots(SearchState(), "") | {"notice": notice_html(plain_message(exc))}
            except Exception as exc:  # noqa: BLE001 - one odd song must not break signing in
                log.warning("last search: song %s not shown: %s", track_id, exc)
        state = SearchState.restored(entry, hits, f"Your last search: {describe_entry(entry)}")
        return page_slots(state, "")

    # --- account forms -------------------------------------------------------------------------
    @slots(*VIEW_SLOTS, *HISTORY_SLOTS, *SEARCH_SLOTS, "login_password")
    def sign_in(self, login: str, error: str, request: gr.Request | None = None) -> Slots:
        """After the browser posted the password to ``/session/login`` (``session.SIGN_IN_JS``):
        ``error`` is that route's refusal in plain words, "" when the cookie is now set."""
        if error:
            return {"notice": notice_html(error), "login_password": ""}
        out = self._session_from_cookie(request)
        out["login_password"] = ""
        return out

    @slots("notice", "auth_tabs", "register_password")
    def register(self, username: str, email: str, password: str, request: gr.Request | None = None) -> Slots:
        """Start the account; the person then enters the mailed code (or, in development, where
        the account exists at once, signs in: the session cookie only comes from /session/login)."""
        if not (username or "").strip() or not (email or "").strip() or not password:
            return {"notice": notice_html("Fill in a username, an email address and a password.")}
        try:
            client = getattr(request, "client", None)  # the browser, as the proxy setting resolved it
            user = self.ctx.auth.register(
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
        return _account_ready(username.strip())

    @slots("notice", "auth_tabs", "register_password", "reg_code")
    def confirm_registration(self, code: str) -> Slots:
        if not (code or "").strip():
            return {"notice": notice_html("Enter the confirmation code from the email.")}
        try:
            user = self.ctx.auth.confirm_registration(code.strip())
        except Exception as exc:  # noqa: BLE001
            return {"notice": notice_html(plain_message_login(exc))}
        return _account_ready(user.username) | {"reg_code": ""}

    @slots("notice")
    def forgot_password(self, login: str) -> Slots:
        if not (login or "").strip():
            return {"notice": notice_html("Enter your username or email first.")}
        try:
            self.ctx.auth.forgot(login.strip())
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
    def reset_password(self, reset_token: str, new_password: str) -> Slots:
        if not (reset_token or "").strip() or not new_password:
            return {"notice": notice_html("Enter the reset code from the email and a new password.")}
        try:
            self.ctx.auth.reset(reset_token.strip(), new_password)
        except Exception as exc:  # noqa: BLE001
            return {"notice": notice_html(plain_message_login(exc))}
        return {
            "notice": notice_html("Password changed. Sign in with your new password.", "ok"),
            "reset_password": "",
        }

    @slots(*VIEW_SLOTS, *HISTORY_SLOTS, *SEARCH_SLOTS)
    def sign_out(self) -> Slots:
        """After the browser's ``/session/logout`` revoked the session and cleared the cookie."""
        out = view(None, "You are signed out.", "info")
        out.update({"history": "", "history_state": []})
        out.update(page_slots(SearchState(), ""))
        return out
