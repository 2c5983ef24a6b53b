"""The one-line "vibe" of a result list: its dominant genre and average energy / mood in words."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from statistics import fmean

from services.common.contracts.songs import Song

# (upper bound, words): the first band whose bound exceeds the average wins.
ENERGY_WORDS = ((0.35, "calm"), (0.55, "relaxed"), (0.75, "lively"), (1.01, "high-energy"))
VALENCE_WORDS = ((0.3, "melancholic"), (0.5, "bittersweet"), (0.7, "warm"), (1.01, "upbeat"))


def _word(value: float, bands: tuple[tuple[float, str], ...]) -> str:
    return next(word for bound, word in bands if value < bound)


def _average(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def vibe_summary(songs: Sequence[Song]) -> str:
    """E.g. "Mostly pop (7 of 12) · lively and upbeat (energy 0.71, mood 0.74)"; "" for no songs.

    "Mostly" needs a plain majority; otherwise the leading genre is named as "Leaning".
    """
    if not songs:
        return ""
    genres = Counter(song.display_genre for song in songs)
    genre, count = genres.most_common(1)[0]
    lead = "Mostly" if count * 2 > len(songs) else "Leaning"
    parts = [f"{lead} {genre} ({count} of {len(songs)})"]
    energy = _average([s.energy for s in songs])
    valence = _average([s.valence for s in songs])
    if energy is not None and valence is not None:
        parts.append(
            f"{_word(energy, ENERGY_WORDS)} and {_word(valence, VALENCE_WORDS)} "
            f"(energy {energy:.2f}, mood {valence:.2f})"
        )
    elif energy is not None:
        parts.append(f"{_word(energy, ENERGY_WORDS)} (energy {energy:.2f})")
    elif valence is not None:
        parts.append(f"{_word(valence, VALENCE_WORDS)} (mood {valence:.2f})")
    return " · ".join(parts)
