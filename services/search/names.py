"""Find songs by what people remember of them: words of the title and/or the artist.

Matching is Qdrant's own full-text index on ``title`` and ``artist`` (prefix tokens, lowercased,
accents folded), so "bohemian rhap", "DAFT punk" and "motley crue" work as typed. Every word must
start a word of the title or of the artist; the engine returns the most popular matches, and this
module only puts the titles that begin with what was typed first.
"""

from __future__ import annotations

import re

from services.common.contracts.search import SongMatch
from services.search.storage.store import VectorStore

WORD = re.compile(r"\w+")
MAX_WORDS = 8  # more words than any title needs; bounds the filter's size
CANDIDATES_PER_MATCH = 4  # popular matches fetched per match returned, re-ordered below
MATCH_FIELDS = ["track_id", "title", "artist", "year", "genre"]


def name_words(text: str) -> list[str]:
    """The lowercased words of ``text``, each once, in order (at most ``MAX_WORDS``)."""
    return list(dict.fromkeys(w.lower() for w in WORD.findall(text)))[:MAX_WORDS]


def find_by_name(store: VectorStore, text: str, limit: int) -> list[SongMatch]:
    """Songs whose title or artist has a word starting with each word of ``text``; titles that
    start with the typed text come first, then by popularity. No words, no songs."""
    words = name_words(text)
    if not words:
        return []
    points = store.match_names(None, words, limit * CANDIDATES_PER_MATCH, MATCH_FIELDS)
    typed = " ".join(words)

    def rank(title: str) -> int:
        title_words = name_words(title)
        if " ".join(title_words).startswith(typed):
            return 0
        if all(any(t.startswith(w) for t in title_words) for w in words):
            return 1
        return 2

    # sorted() is stable: within a rank the engine's popularity order stays.
    ordered = sorted(points, key=lambda p: rank(str(p.payload.get("title", ""))))
    return [SongMatch.model_validate(p.payload) for p in ordered[:limit]]
