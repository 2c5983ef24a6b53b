"""Exceptions from the services turned into plain words for the page (never a stack trace)."""

from __future__ import annotations

import ast
import logging
import re

from services.common.contracts.search import ENCODER_UNAVAILABLE
from services.common.http import ServiceError, ServiceUnavailable
from services.ui.images import UploadError

log = logging.getLogger("pixelplay.ui")

SESSION_EXPIRED = "Your session has expired. Please sign in again."

# What each service does, in the user's words: people never see our internal service names.
_WHAT_IT_DOES = {"encoder": "Reading photos", "search": "Finding songs", "auth": "Signing in"}
# Search relays the encoder's refusal of an upload as "encoder: <message>".
_PHOTO_REFUSED = re.compile(r"^encoder\s*:\s*", re.IGNORECASE)


class SessionExpired(Exception):
    """The auth service no longer accepts the browser's token: the user must sign in again."""


def token_of(session: dict | None) -> str:
    """The token of the page's session (``{"token", "user"}``); signed out raises ``SessionExpired``."""
    token = (session or {}).get("token")
    if not token:
        raise SessionExpired()
    return token


def is_session_error(exc: BaseException) -> bool:
    """True when the auth service rejected the user's bearer token (401)."""
    return isinstance(exc, ServiceError) and exc.service == "auth" and exc.status == 401


def _validation_text(detail: str) -> str:
    """FastAPI's 422 detail arrives as the text of a list of errors; keep only "field: message"."""
    try:
        errors = ast.literal_eval(detail)
    except (ValueError, SyntaxError):
        return detail
    if not isinstance(errors, list):
        return detail
    lines = []
    for err in errors:
        if isinstance(err, dict) and err.get("msg"):
            field = next((str(p) for p in reversed(err.get("loc") or []) if isinstance(p, str)), "")
            lines.append(f"{field}: {err['msg']}" if field and field != "body" else str(err["msg"]))
    return "; ".join(lines) or detail


def plain_message(exc: BaseException) -> str:
    """What to tell the user about ``exc``: the service's own 4xx message, "not available" for a
    service that is down, a generic sentence (logged with its traceback) for anything else."""
    if isinstance(exc, SessionExpired) or is_session_error(exc):
        return SESSION_EXPIRED
    if isinstance(exc, UploadError):
        return str(exc)
    if isinstance(exc, ServiceUnavailable) or (isinstance(exc, ServiceError) and exc.status >= 500):
        # Search answers 503 for the encoder too; name the part that is really down.
        down = "encoder" if exc.detail.startswith(ENCODER_UNAVAILABLE) else exc.service
        what = _WHAT_IT_DOES.get(down, "This part of PixelPlay")
        return f"{what} is not available right now. Please try again in a moment."
    if isinstance(exc, ServiceError):
        detail = _validation_text(exc.detail.strip()) if exc.detail.startswith("[{") else exc.detail.strip()
        if _PHOTO_REFUSED.match(detail):
            return f"We could not use this photo. {_PHOTO_REFUSED.sub('', detail)}"[:400]
        return (detail or f"The request was refused ({exc.status}). Please check it and try again.")[:400]
    log.exception("unexpected error in a UI callback", exc_info=exc)
    return "Something went wrong on our side. Please try again."
