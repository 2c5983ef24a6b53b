"""Result cards as HTML: one ``<article>`` per search hit, in a responsive grid.

Every piece of text that comes from the catalog or the enricher (titles, artists, URLs) is
untrusted and escaped here. Buttons carry ``data-action`` and ``data-track-id``: the results
component forwards any click on them to Python (see ``ACTIONS``), so a new card button only
needs a new action name and a handler.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from html import escape
from typing import Any

from services.common.contracts.search import SearchHit
from services.common.contracts.songs import Song
from services.common.media_urls import (
    ART_HOSTS,
    PREVIEW_HOSTS,
    STORE_LINK_HOSTS,
    allowed_url,
    spotify_embed_url,
)
from services.ui.radar import radar_svg

# Card buttons the results component forwards to Python: action name -> button label.
# "like"/"dislike" refine the results with the rating (search's /search/feedback).
ACTIONS: dict[str, str] = {
    "similar": "Find similar",
    "like": "More like this",
    "dislike": "Less like this",
}


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
    """iTunes' art when matched, else Spotify's, else the placeholder; only https on known hosts."""
    url = allowed_url(song.card_art_url, ART_HOSTS)
    if url is None:
        return placeholder_art(song)
    alt = escape(f"Album art: {song.album or song.title}", quote=True)
    return (
        f'<img class="pp-art" src="{escape(url, quote=True)}" alt="{alt}" loading="lazy" '
        f'referrerpolicy="no-referrer" data-art-source="{song.art_source}">'
    )


def preview_html(song: Song) -> str:
    """iTunes' 30 s preview when there is one; otherwise a button that loads Spotify's embed
    player on click (nothing is fetched from Spotify before that click)."""
    preview = allowed_url(song.preview_url, PREVIEW_HOSTS) if song.enrich_status == "ok" else None
    if preview:
        src = escape(preview, quote=True)
        label = escape(f"Preview: {song.title}", quote=True)
        return f'<audio class="pp-audio" controls preload="none" src="{src}" aria-label="{label}"></audio>'
    embed = spotify_embed_url(song.track_id)
    if embed is None:
        return ""
    label = escape(f"Play {song.title} on Spotify", quote=True)
    return (
        f'<button type="button" class="pp-embed-load" data-embed-src="{escape(embed, quote=True)}" '
        f'aria-label="{label}">&#9654; Play on Spotify</button>'
    )


def is_waiting(song: Song) -> bool:
    """True while the enricher may still bring this card art or a preview."""
    return song.needs_lookup or song.needs_art


def card_update(song: Song) -> dict[str, Any]:
    """What a card on screen replaces in place when it polls: its art, its preview, whether to stop."""
    preview = preview_html(song)
    return {
        "art": art_html(song),
        "preview": preview if preview.startswith("<audio") else None,
        "done": not is_waiting(song),
    }


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
    spotify = allowed_url(song.spotify_url, STORE_LINK_HOSTS)
    link = (
        f'<a class="pp-link" href="{escape(spotify, quote=True)}" target="_blank" rel="noopener noreferrer">'
        "Open on Spotify</a>"
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
    waiting = " data-pending" if is_waiting(song) else ""
    return (
        f'<article class="pp-card" data-track-id="{escape(song.track_id, quote=True)}"{waiting}>'
        f"{art_html(song)}"
        f'<div class="pp-body">'
        f'<h3 class="pp-title">{escape(song.title)}</h3>'
        f'<p class="pp-artist">{escape(song.artist)}</p>'
        f'<p class="pp-meta">{meta}{score_html}</p>'
        f'<div class="pp-radar-wrap">{radar_svg(features)}</div>'
        f'{why}<div class="pp-preview">{preview_html(song)}</div>'
        f'<div class="pp-actions">{link}{buttons}</div>'
        f"</div></article>"
    )


def results_html(hits: Iterable[SearchHit], heading: str = "", empty: str = "") -> str:
    """The card grid for every hit shown so far, under an optional (escaped) heading."""
    cards = [card_html(hit.song, hit.score, hit.explanation) for hit in hits]
    head = f'<h2 class="pp-results-heading">{escape(heading)}</h2>' if heading else ""
    if not cards:
        return f'{head}<p class="pp-empty">{escape(empty)}</p>' if empty else head
    return f'{head}<div class="pp-grid">{"".join(cards)}</div>'
