"""Small builders shared by the UI tests."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from services.ui.session import SESSION_COOKIE
from tests.songs import song_payload


def song_dict(track_id: str = "t1", **overrides: Any) -> dict[str, Any]:
    """A valid ``Song`` payload as the search service returns it: a 2001 pop song with audio features."""
    features = {"year": 2001, "energy": 0.8, "valence": 0.7, "danceability": 0.6, "acousticness": 0.1}
    return song_payload(track_id, **{**features, **overrides})


def hit(track_id: str = "t1", score: float = 0.5, explanation: list[str] | None = None, **song: Any) -> dict:
    return {"score": score, "song": song_dict(track_id, **song), "explanation": explanation or []}


def browser(session: dict[str, Any] | str | None) -> SimpleNamespace:
    """A stand-in for the ``gr.Request`` of a browser whose session cookie holds this token."""
    token = session.get("token") if isinstance(session, dict) else session
    return SimpleNamespace(cookies={SESSION_COOKIE: token} if token else {})


def signed_in_session(backend: Any, login: str, password: str) -> dict[str, Any]:
    """What ``/session/login`` does for a browser: a session from auth, as the UI keeps it."""
    answer = backend.login(login, password)
    return {"token": answer["token"], "user": answer["user"]}
