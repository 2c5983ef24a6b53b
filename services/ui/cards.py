"""Result cards as HTML: one ``<article>`` per search hit, in a responsive grid.

Every piece of text that comes from the catalog or the enricher (titles, artists, URLs) is
untrusted and escaped here. Buttons carry ``data-action`` and ``data-track-id``: the results
component forwards any click on them to Python (see ``ACTIONS``), so the feedback buttons of
issue #9 only need a new action name and a handler.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from html import escape
from typing import Any

from pydantic import ValidationError

from services.common.schemas import Song
from services.ui.radar import radar_svg

# Card buttons the results component forwards to Python: action name -> button label.
# "like"/"dislike" (issue #9) refine the results with the rating (search's /search/feedback).
ACTIONS: dict[str, str] = {
    "similar": "Find similar",
    "like": "More like this",
    "dislike": "Less like this",
}


def safe_url(url: str | None, schemes: tuple[str, ...] = ("https://", "http://")) -> str | None:
    """The URL, escaped for an attribute, when it uses an allowed scheme; ``None`` otherwise
    (a ``javascript:`` link in the catalog must never become clickable)."""
    if not url or not url.strip().lower().startswith(schemes):
        return None
    return escape(url.strip(), quote=True)


def as_song(value: Song | dict[str, Any]) -> Song | None:
    """A hit's song payload as a ``Song``; ``None`` when the payload is broken (the card is skipped)."""
    if isinstance(value, Song):
        return value
    try:
        return Song.model_validate(value)
    except ValidationError:
        return None


def placeholder_art(song: Song) -> str:
    """A gradient tile with the title's initial, coloured from the track id so cards differ."""
    digest = hashlib.sha256(song.track_id.encode()).digest()
    hue_a, hue_b = digest[0] * 360 // 256, digest[1] * 360 // 256
    initial = escape((song.title.strip()[:1] or "♪").upper())
    return (
        f'<div class="pp-art pp-art-placeholder" role="img" aria-label="No album art" '
        f'style="background:linear-gradient(135deg,hsl({hue_a} 70% 55%),hsl({hue_b} 70% 40%))">'
        f"<span>{initial}</span></div>"
    )


def art_html(song: Song) -> str:
    url = safe_url(song.art_url) if song.enrich_status == "ok" else None
    if url is None:
        return placeholder_art(song)
    alt = escape(f"Album art: {song.album or song.title}", quote=True)
    return f'<img class="pp-art" src="{url}" alt="{alt}" loading="lazy" referrerpolicy="no-referrer">'


def _button(action: str, song: Song) -> str:
    tid = escape(song.track_id, quote=True)
    label = escape(ACTIONS[action])
    return (
        f'<button type="button" class="pp-btn pp-btn-{action}" data-action="{action}" '
        f'data-track-id="{tid}">{label}</button>'
    )


def card_html(song: Song, score: float | None = None, explanation: Iterable[str] = ()) -> str:
    """One result card: art, title, artist, genre · year, match score, preview player, Spotify
    link, feature radar, the "matched on" phrases and the action buttons."""
    meta = " · ".join(
        escape(str(part)) for part in (song.display_genre, song.display_year) if part not in (None, "")
    )
    score_html = (
        f'<span class="pp-score" title="cosine similarity">match {score:.2f}</span>'
        if score is not None
        else ""
    )
    preview = safe_url(song.preview_url)
    audio = f'<audio class="pp-audio" controls preload="none" src="{preview}"></audio>' if preview else ""
    spotify = safe_url(song.spotify_url)
    link = (
        f'<a class="pp-link" href="{spotify}" target="_blank" rel="noopener noreferrer">Open on Spotify</a>'
        if spotify
        else ""
    )
    phrases = [escape(p) for p in explanation if p]
    why = f'<p class="pp-why">matched on: {", ".join(phrases)}</p>' if phrases else ""
    features = {
        "energy": song.energy,
        "valence": song.valence,
        "danceability": song.danceability,
        "acousticness": song.acousticness,
    }
    buttons = "".join(_button(action, song) for action in ACTIONS)
    return (
        f'<article class="pp-card" data-track-id="{escape(song.track_id, quote=True)}">'
        f"{art_html(song)}"
        f'<div class="pp-body">'
        f'<h3 class="pp-title">{escape(song.title)}</h3>'
        f'<p class="pp-artist">{escape(song.artist)}</p>'
        f'<p class="pp-meta">{meta}{score_html}</p>'
        f'<div class="pp-radar-wrap">{radar_svg(features)}</div>'
        f"{why}{audio}"
        f'<div class="pp-actions">{link}{buttons}</div>'
        f"</div></article>"
    )


def hits_songs(hits: Iterable[dict[str, Any]]) -> list[tuple[Song, float | None, list[str]]]:
    """The valid hits of a search page as (song, score, explanation)."""
    out = []
    for hit in hits:
        song = as_song(hit.get("song") or {})
        if song is not None:
            out.append((song, hit.get("score"), list(hit.get("explanation") or [])))
    return out


def results_html(hits: Iterable[dict[str, Any]], heading: str = "", empty: str = "") -> str:
    """The card grid for every hit shown so far, under an optional (escaped) heading."""
    cards = [card_html(song, score, why) for song, score, why in hits_songs(hits)]
    head = f'<h2 class="pp-results-heading">{escape(heading)}</h2>' if heading else ""
    if not cards:
        return f'{head}<p class="pp-empty">{escape(empty)}</p>' if empty else head
    return f'{head}<div class="pp-grid">{"".join(cards)}</div>'
