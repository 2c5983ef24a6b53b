"""Moodboards: several photos, one playlist.

``combine`` turns the photos' vectors into one query: the **normalised mean**. It was chosen over
Qdrant's recommend with every photo as a positive (best score) by measurement
(``scripts/evaluate_moodboard.py``, docs/quality.md): best score ranks a song by its nearest photo,
so the list fills with the songs of whichever photo sits nearest the song vectors and the other
photos go unserved; the mean ranks songs by their fit to all photos at once.

``order_songs`` then orders the playlist: ``ranked`` (best match first), ``smooth`` (energy and
tempo change as little as possible from song to song) or ``arc`` (open low, build, peak at about
two thirds, close lower). ``mean_jump`` measures the mean energy and tempo change between
neighbours, so each answer can show what the ordering bought.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar, get_args

from services.common.contracts.search import Jump, Order
from services.common.contracts.songs import Song
from services.search.audio import CATALOG_SCALING
from services.search.vectors import normalise

ORDERS: tuple[str, ...] = get_args(Order)
T = TypeVar("T")
_SCALE = {name: std for name, _, std in CATALOG_SCALING}
_MEAN = {name: mean for name, mean, _ in CATALOG_SCALING}


def combine(vectors: Sequence[Sequence[float]]) -> list[float]:
    """The normalised mean of the normalised photo vectors."""
    if not vectors:
        raise ValueError("no photo vectors to combine")
    units = [normalise(v) for v in vectors]
    mean = [math.fsum(column) / len(units) for column in zip(*units, strict=True)]
    try:
        return normalise(mean)
    except ValueError:
        raise ValueError("the photos cancel each other out; try other photos") from None


def _point(song: Song) -> tuple[float, float]:
    """Energy and tempo in standard deviations of the catalog; a missing value is the mean."""
    energy = song.energy if song.energy is not None else _MEAN["energy"]
    tempo = song.tempo if song.tempo is not None else _MEAN["tempo"]
    return (energy - _MEAN["energy"]) / _SCALE["energy"], (tempo - _MEAN["tempo"]) / _SCALE["tempo"]


def mean_jump(songs: Sequence[Song]) -> Jump:
    """Mean |energy change| and |tempo change| between neighbours (0 for fewer than two songs)."""
    pairs = list(zip(songs, songs[1:], strict=False))
    if not pairs:
        return Jump(energy=0.0, tempo=0.0)

    def change(a: float | None, b: float | None, mean: float) -> float:
        return abs((a if a is not None else mean) - (b if b is not None else mean))

    energy = sum(change(a.energy, b.energy, _MEAN["energy"]) for a, b in pairs) / len(pairs)
    tempo = sum(change(a.tempo, b.tempo, _MEAN["tempo"]) for a, b in pairs) / len(pairs)
    return Jump(energy=round(energy, 4), tempo=round(tempo, 2))


def order_songs(items: Sequence[T], songs: Sequence[Song], order: Order) -> list[T]:
    """``items`` (one per song, in ranked order) rearranged by ``order``."""
    if order == "ranked" or len(items) < 3:
        return list(items)
    points = [_point(s) for s in songs]
    if order == "smooth":
        # Greedy nearest neighbour from the best match: each next song is the remaining one
        # nearest in (energy, tempo), so the best match still opens the playlist.
        left = list(range(1, len(items)))
        chain = [0]
        while left:
            here = points[chain[-1]]
            nxt = min(left, key=lambda i: (math.dist(here, points[i]), i))
            chain.append(nxt)
            left.remove(nxt)
        return [items[i] for i in chain]
    # Arc: by intensity (energy + tempo), two of every three songs climb to the peak, the third
    # ones come back down after it, so the peak falls at about two thirds of the playlist.
    by_intensity = sorted(range(len(items)), key=lambda i: (sum(points[i]), i))
    rise = [i for n, i in enumerate(by_intensity) if n % 3 != 2]
    fall = [i for n, i in enumerate(by_intensity) if n % 3 == 2]
    return [items[i] for i in rise + fall[::-1]]
