"""Small builders shared by the UI tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from services.common.clients.auth import AuthClient
from services.common.contracts.auth import HistoryEntry
from services.common.contracts.search import SearchHit
from services.common.contracts.songs import Song
from services.ui.query import Query, SearchState
from services.ui.session import SESSION_COOKIE
from tests.songs import song_payload


def song_dict(track_id: str = "t1", **overrides: Any) -> dict[str, Any]:
    """A valid ``Song`` payload as the search service returns it: a 2001 pop song with audio features."""
    features = {"year": 2001, "energy": 0.8, "valence": 0.7, "danceability": 0.6, "acousticness": 0.1}
    return song_payload(track_id, **{**features, **overrides})


def hit(
    track_id: str = "t1", score: float = 0.5, explanation: list[str] | None = None, **song: Any
) -> SearchHit:
    return SearchHit(score=score, song=Song(**song_dict(track_id, **song)), explanation=explanation or [])


def results(
    kind: str, text: str = "", hits: list[SearchHit] = (), heading: str = "", **query: Any
) -> SearchState:
    """The results on screen for a query of ``kind``, as the UI keeps them."""
    return SearchState(Query(kind=kind, text=text, **query), tuple(hits), heading)


def history_entry(**fields: Any) -> HistoryEntry:
    """A stored history entry, as ``GET /history`` returns it."""
    base = {"id": uuid.uuid4(), "created_at": datetime(2026, 11, 25, 14, 2, 11, tzinfo=UTC), "kind": "text"}
    return HistoryEntry(**(base | fields))


def browser(session: dict[str, Any] | str | None) -> SimpleNamespace:
    """A stand-in for the ``gr.Request`` of a browser whose session cookie holds this token."""
    token = session.get("token") if isinstance(session, dict) else session
    return SimpleNamespace(cookies={SESSION_COOKIE: token} if token else {})


def signed_in_session(auth: AuthClient, login: str, password: str) -> dict[str, Any]:
    """What ``/session/login`` does for a browser: a session from auth, as the UI keeps it."""
    answer = auth.login(login, password)
    return {"token": answer.token, "user": answer.user}
