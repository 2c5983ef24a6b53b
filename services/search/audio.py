"""A song's "audio" vector: its standardised audio features, stored beside the description vector.

Each feature becomes a z-score, ``(value - mean) / std``, with the mean and standard deviation of
the bundled catalog (``CATALOG_SCALING``, recomputed from the catalog file by a test so the two
cannot drift apart), clipped to ±``CLIP_Z`` so one extreme value (a -40 dB track) cannot outweigh
every other feature. The vector is compared with Euclidean distance: two songs whose features
differ by one standard deviation in one feature are 1.0 apart. A missing feature is read as the
catalog mean (z = 0); a song missing more than half of them gets no audio vector at all, so it is
never called "similar in sound" on the strength of guessed values. Scaling: docs/search.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# (feature, catalog mean, catalog standard deviation), in vector order.
CATALOG_SCALING: tuple[tuple[str, float, float], ...] = (
    ("danceability", 0.6534, 0.1458),
    ("energy", 0.6984, 0.1835),
    ("valence", 0.5104, 0.2343),
    ("tempo", 120.9625, 26.9449),  # BPM
    ("acousticness", 0.1772, 0.2228),
    ("instrumentalness", 0.0911, 0.2326),
    ("speechiness", 0.1079, 0.1025),
    ("liveness", 0.1910, 0.1559),
    ("loudness", -6.8178, 3.0364),  # dB
)
AUDIO_FEATURES = tuple(name for name, _, _ in CATALOG_SCALING)
AUDIO_DIM = len(CATALOG_SCALING)
CLIP_Z = 4.0
# Expected distance between two songs drawn at random when every feature has unit variance and
# they are independent: sqrt(2 * dim). Fusion divides by it so "1.0" means "as far apart as two
# random songs", a scale comparable with the description vectors' cosine.
TYPICAL_DISTANCE = math.sqrt(2 * AUDIO_DIM)


def audio_vector(features: Mapping[str, Any]) -> list[float] | None:
    """The standardised features of one song (a ``Song`` payload dict works), or ``None`` when
    more than half of them are missing or not numbers."""
    out, known = [], 0
    for name, mean, std in CATALOG_SCALING:
        value = features.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            out.append(0.0)
            continue
        known += 1
        out.append(max(-CLIP_Z, min(CLIP_Z, (float(value) - mean) / std)))
    return out if known * 2 > AUDIO_DIM else None


def audio_distance(a: Mapping[str, Any], b: Mapping[str, Any]) -> float | None:
    """Euclidean distance between two songs' audio vectors (``None`` if either has none)."""
    va, vb = audio_vector(a), audio_vector(b)
    if va is None or vb is None:
        return None
    return math.dist(va, vb)
