"""A result list as a Spotify playlist: its name, description and the words of a save's outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from services.common.contracts.auth import HistoryEntry
from services.common.contracts.spotify import MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, SaveRequest, SaveResult
from services.common.http import ServiceError, ServiceUnavailable
from services.common.media_urls import allowed_url
from services.ui.errors import plain_message
from services.ui.history import KIND_LABELS
from services.ui.query import SearchState
from services.ui.slots import notice_html

REJECTED_NAMED = 10  # rejected songs named in the message; the rest are counted


@dataclass(frozen=True)
class TrackList:
    """A result list to save: its ids, a playlist name and description, and each id's song label."""

    name: str
    description: str
    track_ids: list[str]
    labels: dict[str, str]

    def request(self, on_existing: str) -> SaveRequest:
        return SaveRequest(
            name=self.name, description=self.description, track_ids=self.track_ids, on_existing=on_existing
        )


def playlist_name(what: str, today: datetime) -> str:
    """ "PixelPlay · sunset photo · 2026-11-30", shortened to Spotify-friendly length."""
    date = today.strftime("%Y-%m-%d")
    room = MAX_NAME_CHARS - len(f"PixelPlay ·  · {date}")
    what = what if len(what) <= room else what[: room - 1].rstrip() + "…"
    return f"PixelPlay · {what} · {date}"


def describe_search(kind: str | None, text: str | None, heading: str = "") -> str:
    """What a list was found for, in a few words: "sunset photo", "rainy night", "similar to …"."""
    text = (text or "").strip()
    if kind == "image":
        return "photo"
    if kind == "hybrid":
        return f"{text} photo" if text else "photo"
    if kind == "text" and text:
        return text
    if kind == "similar" and text:
        return f"similar to {text}"
    if kind == "moodboard":  # "Moodboard of 3 photos · Smooth energy…" → "moodboard of 3 photos"
        return heading.split(" · ")[0].lower() if heading else "moodboard"
    if heading:
        return heading.removeprefix("Songs for ").removeprefix("Your last search: ").strip("“”")
    return KIND_LABELS.get(kind or "", "songs").lower()


def list_from_results(state: SearchState | None, today: datetime) -> TrackList | None:
    """The songs on screen as a list to save; None when there are none."""
    state = state or SearchState()
    songs = [hit.song for hit in state.hits]
    if not songs:
        return None
    query = state.query
    kind = (query.base_kind or query.kind) if query else None
    what = describe_search(kind, query.text if query else None, state.heading)
    return TrackList(
        name=playlist_name(what, today),
        description=description(what, today),
        track_ids=[s.track_id for s in songs],
        labels={s.track_id: f"{s.title} — {s.artist}" for s in songs},
    )


def list_from_history(entry: HistoryEntry, today: datetime) -> TrackList | None:
    """A past search's stored results (songs not on screen are named by id if rejected)."""
    ids = [t for t in entry.result_track_ids if t]
    if not ids:
        return None
    what = describe_search(entry.kind, entry.text)
    return TrackList(playlist_name(what, today), description(what, today), ids, {})


def description(what: str, today: datetime) -> str:
    text = f"Songs PixelPlay matched to {what} on {today.strftime('%Y-%m-%d')}."
    return text[:MAX_DESCRIPTION_CHARS]


def result_message(result: SaveResult, labels: dict[str, str]) -> tuple[str, str]:
    """The outcome of a save in words, and its notice kind."""
    playlist = result.playlist
    name = f"“{playlist.name}”" if playlist else "the playlist"
    parts = []
    if result.status == "saved":
        parts.append(f"Saved to Spotify: added {result.added} of {result.total} songs to {name}.")
    else:
        parts.append(
            f"Only part of the list is in Spotify: added {result.added} of {result.total} songs to {name}."
        )
        if result.problem:
            parts.append(result.problem)
        parts.append("Save again and choose “Update that playlist” to finish it.")
    if result.replaced_missing:
        parts.append("The playlist saved earlier was deleted in Spotify, so this is a new one.")
    if result.rejected:
        named = ", ".join(labels.get(t, t) for t in result.rejected[:REJECTED_NAMED])
        extra = len(result.rejected) - REJECTED_NAMED
        more = f" and {extra} more" if extra > 0 else ""
        parts.append(f"Spotify did not accept: {named}{more}.")
    return " ".join(parts), "ok" if result.status == "saved" and not result.rejected else "error"


def saved_notice(text: str, kind: str, url: str | None) -> str:
    """The notice, with a link to the playlist (Spotify's https link only)."""
    html = notice_html(text, kind)
    if href := allowed_url(url, ("open.spotify.com",)):
        link = f' <a href="{escape(href, quote=True)}" target="_blank" rel="noopener">Open in Spotify</a>'
        html = html.replace("</div>", link + "</div>", 1)
    return html


def spotify_words(exc: BaseException) -> str:
    """Auth's Spotify refusals carry a sentence for people (rate limit with its wait, Spotify down,
    access ended, feature off); anything else is worded like every other service error."""
    spotify_refusal = isinstance(exc, ServiceError) and not isinstance(exc, ServiceUnavailable)
    if spotify_refusal and exc.status in (403, 404, 429, 502) and exc.detail:
        return exc.detail
    return plain_message(exc)


def outcome_for(exc: ServiceError) -> str:
    """Auth's refusal of a connect step as a ``?spotify=`` outcome."""
    if exc.status == 401:
        return "signin"
    if exc.status == 404:
        return "off"
    if exc.status == 403 and "chose not" in exc.detail:
        return "denied"
    if exc.status in (400, 403, 422):
        return "refused"
    return "unavailable"
