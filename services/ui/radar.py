"""A small radar chart of a song's mood features, as inline SVG for the result cards.

Inline SVG costs no JavaScript and no extra request per card, stays sharp at any zoom and scales
with the card. Four axes, clockwise from the top: energy, valence, danceability, acousticness.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

# (feature name, axis label): the order is the clockwise order of the axes from 12 o'clock.
RADAR_AXES: tuple[tuple[str, str], ...] = (
    ("energy", "Energy"),
    ("valence", "Mood"),
    ("danceability", "Dance"),
    ("acousticness", "Acoustic"),
)
RINGS = (0.25, 0.5, 0.75, 1.0)


def _clamp(value: float | None) -> float:
    """A feature as a 0..1 radius; a missing or broken value draws at the centre."""
    if value is None or not math.isfinite(value):
        return 0.0
    return min(1.0, max(0.0, float(value)))


def _point(cx: float, cy: float, radius: float, axis: int, count: int) -> tuple[float, float]:
    angle = -math.pi / 2 + 2 * math.pi * axis / count  # axis 0 points straight up
    return cx + radius * math.cos(angle), cy + radius * math.sin(angle)


def _points(cx: float, cy: float, radii: list[float], count: int) -> str:
    return " ".join("{:.1f},{:.1f}".format(*_point(cx, cy, r, i, count)) for i, r in enumerate(radii))


def radar_svg(features: Mapping[str, float | None], size: int = 150) -> str:
    """Inline ``<svg>`` of the four features (0..1) with rings, axis labels and an accessible
    label that spells the values out ("energy 0.72, …"); missing values read "n/a"."""
    count = len(RADAR_AXES)
    side = 34  # extra width left and right for the side labels ("Acoustic")
    width = size + 2 * side
    cx, cy = width / 2, size / 2
    outer = size / 2 - 16  # room for the top and bottom labels
    values = [features.get(name) for name, _ in RADAR_AXES]
    spoken = ", ".join(
        f"{name} {v:.2f}" if v is not None and math.isfinite(v) else f"{name} n/a"
        for (name, _), v in zip(RADAR_AXES, values, strict=True)
    )
    parts = [
        f'<svg class="pp-radar" viewBox="0 0 {width} {size}" width="{width}" height="{size}" '
        f'role="img" aria-label="Audio features: {spoken}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{spoken}</title>",
    ]
    for ring in RINGS:
        parts.append(
            f'<polygon class="pp-radar-ring" points="{_points(cx, cy, [outer * ring] * count, count)}" '
            'fill="none" stroke="currentColor" stroke-opacity="0.18" stroke-width="1"/>'
        )
    for i in range(count):
        x, y = _point(cx, cy, outer, i, count)
        parts.append(
            f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{x:.1f}" y2="{y:.1f}" '
            'stroke="currentColor" stroke-opacity="0.18" stroke-width="1"/>'
        )
    radii = [outer * _clamp(v) for v in values]
    parts.append(
        f'<polygon class="pp-radar-shape" points="{_points(cx, cy, radii, count)}" '
        'fill="#7c5cff" fill-opacity="0.35" stroke="#7c5cff" stroke-width="2" stroke-linejoin="round"/>'
    )
    for i, r in enumerate(radii):
        x, y = _point(cx, cy, r, i, count)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#7c5cff"/>')
    for i, (_, label) in enumerate(RADAR_AXES):
        x, y = _point(cx, cy, outer + 5, i, count)
        if abs(x - cx) < 1:  # top and bottom labels sit above / below the axis tip
            anchor, y = "middle", (y - 1 if y < cy else y + 9)
        else:
            anchor, y = ("start" if x > cx else "end"), y + 3.5
        parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="10" '
            f'fill="currentColor" fill-opacity="0.75">{label}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
