"""Start from a song: a search box whose matches appear as you type; picking one runs "Find similar".

The box is a plain Gradio Textbox; the match list below it is an HTML component whose script
debounces the typing (``DEBOUNCE_MS`` after the last key) and only then asks Python for matches,
so fast typing costs one search, not one per key. A pick is a ``data-action="similar"`` button,
the same action as the "Find similar" button on a card, so the card handler runs it.
"""

from __future__ import annotations

from html import escape

import gradio as gr

from services.common.clients.search import SearchClient
from services.common.contracts.search import SongMatch
from services.ui.errors import plain_message
from services.ui.slots import Slots, event_data, notice_html, slots

DEBOUNCE_MS = 250
MAX_MATCHES = 8
QUERY_ID = "pp-song-query"
MATCHES_ID = "pp-song-matches"

# Listens on the document, not on the box: Gradio may render the box after this component.
SONG_SEARCH_JS = f"""
let timer = null;
document.addEventListener('input', (event) => {{
  if (!event.target.closest('#{QUERY_ID}')) return;
  const text = event.target.value;
  clearTimeout(timer);
  timer = setTimeout(() => trigger('input', {{q: text}}), {DEBOUNCE_MS});
}});
element.addEventListener('click', (event) => {{
  const button = event.target.closest('[data-action]');
  if (!button || !element.contains(button)) return;
  event.preventDefault();
  trigger('click', {{action: button.dataset.action, track_id: button.dataset.trackId || null}});
}});
"""


SONG_SEARCH_CSS = """
.pp-song-matches { list-style: none; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 4px; }
.pp-song-match { width: 100%; text-align: left; display: flex; flex-direction: column; gap: 1px;
  padding: 6px 10px; border-radius: 10px; border: 1px solid var(--border-color-primary);
  background: var(--block-background-fill); cursor: pointer; font: inherit; color: inherit; }
.pp-song-match:hover, .pp-song-match:focus-visible { border-color: #7c5cff; outline: none; }
.pp-song-title { font-weight: 600; font-size: 0.92rem; }
.pp-song-artist { font-size: 0.8rem; opacity: 0.75; }
"""


def matches_html(query: str, matches: list[SongMatch]) -> str:
    """The suggestion list; "" while nothing is typed."""
    if not query.strip():
        return ""
    if not matches:
        return f'<p class="pp-empty">No song or artist matches “{escape(query.strip())}”.</p>'
    items = []
    for match in matches:
        year = f" · {match.year}" if match.year else ""
        items.append(
            f'<li><button type="button" class="pp-song-match" data-action="similar" '
            f'data-track-id="{escape(match.track_id, quote=True)}">'
            f'<span class="pp-song-title">{escape(match.title)}</span>'
            f'<span class="pp-song-artist">{escape(match.artist)}{escape(year)}</span></button></li>'
        )
    return f'<ul class="pp-song-matches" aria-label="Matching songs">{"".join(items)}</ul>'


def song_search_box() -> gr.HTML:
    """The box and its match list, created where the caller's layout is; returns the list, the
    component whose events carry both the typed text and the pick."""
    gr.Textbox(
        label="Or start from a song",
        placeholder="a title or an artist, e.g. bohemian rhap",
        elem_id=QUERY_ID,
    )
    return gr.HTML(elem_id=MATCHES_ID, js_on_load=SONG_SEARCH_JS, css_template=SONG_SEARCH_CSS)


class SongSearch:
    """The as-you-type handler."""

    def __init__(self, search: SearchClient):
        self.search = search

    @slots("song_matches")
    def suggest(self, evt: gr.EventData) -> Slots:
        query = str(event_data(evt).get("q") or "")
        if not query.strip():
            return {"song_matches": ""}
        try:
            matches = self.search.song_names(query, MAX_MATCHES)
        except Exception as exc:  # noqa: BLE001 - shown in place of the list
            return {"song_matches": notice_html(plain_message(exc))}
        return {"song_matches": matches_html(query, matches)}
