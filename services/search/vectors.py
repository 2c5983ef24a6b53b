"""Vector maths for queries: normalisation and the image + text blend."""

from __future__ import annotations

import math
from collections.abc import Sequence


def normalise(vec: Sequence[float]) -> list[float]:
    """``vec`` scaled to unit length; raises ValueError for an empty, zero or non-finite vector."""
    if not vec:
        raise ValueError("the vector is empty")
    norm = math.sqrt(math.fsum(x * x for x in vec))
    if not math.isfinite(norm) or norm == 0.0:
        raise ValueError("the vector has zero length or non-finite values")
    return [x / norm for x in vec]


def blend(image_vec: Sequence[float], text_vec: Sequence[float], weight: float) -> list[float]:
    """Hybrid query: normalise both, mix ``(1-w)*image + w*text`` and renormalise.

    ``weight`` is the text's share in [0, 1]: 0 is the image alone, 1 the text alone.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be between 0 and 1, got {weight}")
    if len(image_vec) != len(text_vec):
        raise ValueError(f"image and text vectors differ in size ({len(image_vec)} vs {len(text_vec)})")
    img, txt = normalise(image_vec), normalise(text_vec)
    mixed = [(1.0 - weight) * a + weight * b for a, b in zip(img, txt, strict=True)]
    try:
        return normalise(mixed)
    except ValueError:
        # Opposite vectors at w=0.5 cancel out; there is no direction to search then.
        raise ValueError("the image and the text cancel each other out at this weight") from None
