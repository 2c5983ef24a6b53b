"""The heading above a page of results: what was searched, in the user's words."""

from __future__ import annotations

from services.common.contracts.search import MoodboardPage, Order, SearchPage

ORDER_LABELS: dict[Order, str] = {
    "ranked": "Best match first",
    "smooth": "Smooth energy and tempo",
    "arc": "Arc: open, build, peak, close",
}


def photo_heading(text: str) -> str:
    return f"Songs for your photo + “{text}”" if text else "Songs for your photo"


def text_heading(text: str) -> str:
    return f"Songs for “{text}”"


def similar_heading(label: str, page: SearchPage) -> str:
    """ "Similar to <title> — <artist> · by sound 50% (…)": what "similar" meant on this page."""
    return f"Similar to {label}{similar_by(page.audio_weight)}"


def similar_by(audio_weight: float | None) -> str:
    """ " · by sound 50% (tempo, energy, mood…) and description 50%" from the page's ``audio_weight``
    (the share search actually used); description only when it used none."""
    if not audio_weight:
        return " · by description (genre, mood and era words)"
    sound = round(float(audio_weight) * 100)
    if sound >= 100:
        return " · by sound (tempo, energy, mood and other audio features)"
    return f" · by sound {sound}% (tempo, energy, mood…) and description {100 - sound}%"


def refined_heading(base: str | None, ups: int, downs: int) -> str:
    return f"{base or 'Your search'} · refined by {ups} liked and {downs} disliked"


def moodboard_heading(page: MoodboardPage, photos: int | None = None) -> str:
    """ "Moodboard of 3 photos · Smooth energy and tempo (energy changes 0.05 per song instead of …)";
    ``photos``: the count of the original request when the page was made again from its vector."""
    text = f"Moodboard of {photos or page.photos_used} photos · {ORDER_LABELS.get(page.order, page.order)}"
    ranked, ordered = page.jumps.ranked, page.jumps.ordered
    if page.order != "ranked":
        text += (
            f" (energy changes {ordered.energy:.2f} per song instead of {ranked.energy:.2f},"
            f" tempo {ordered.tempo:.0f} BPM instead of {ranked.tempo:.0f})"
        )
    return text
