"""What "similar" means on a "Find similar" page, in words the heading can carry."""

from __future__ import annotations

from typing import Any


def similar_by(page: dict[str, Any]) -> str:
    """ " · by sound 50% (tempo, energy, mood…) and description 50%" from the page's ``audio_weight``
    (the share search actually used); description only when it used none."""
    weight = page.get("audio_weight")
    if not weight:
        return " · by description (genre, mood and era words)"
    sound = round(float(weight) * 100)
    if sound >= 100:
        return " · by sound (tempo, energy, mood and other audio features)"
    return f" · by sound {sound}% (tempo, energy, mood…) and description {100 - sound}%"
