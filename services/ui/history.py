"""The History tab as HTML.

Entries come from the auth service (``GET /history``), which stores what the UI sent; they are
still treated as untrusted: text is escaped and only ``data:image/`` thumbnails are shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from html import escape
from typing import Any

from services.common.contracts.auth import HistoryEntry, HistoryIn

KIND_LABELS = {
    "image": "Photo",
    "text": "Text",
    "hybrid": "Photo + text",
    "similar": "Similar songs",
    "feedback": "Refined by feedback",
    "moodboard": "Moodboard",
}
# History row buttons the history component forwards to Python: action name -> label.
# "spotify" is handled by services/ui/spotify.py and shown only while Spotify is connected.
HISTORY_ACTIONS: dict[str, str] = {"rerun": "Run again", "delete": "Delete", "spotify": "Save to Spotify"}


def describe_filters(filters: Mapping[str, Any] | None) -> str:
    """ "genres: pop, rock · 1990–2005 · energy 0.5–1" or "" when nothing is filtered."""
    if not filters:
        return ""
    parts = []
    if genres := filters.get("genres"):
        parts.append("genres: " + ", ".join(str(g) for g in genres))
    lo, hi = filters.get("year_min"), filters.get("year_max")
    if lo is not None or hi is not None:
        parts.append(f"{lo if lo is not None else '…'}–{hi if hi is not None else '…'}")
    for name, bounds in (filters.get("features") or {}).items():
        if isinstance(bounds, Mapping) and (bounds.get("min") is not None or bounds.get("max") is not None):
            parts.append(f"{name} {bounds.get('min', 0) or 0:g}–{bounds.get('max', 1) or 1:g}")
    return " · ".join(parts)


def describe_entry(entry: HistoryIn) -> str:
    """The query of one history entry in words (unescaped)."""
    parts = [KIND_LABELS.get(entry.kind, entry.kind.title())]
    if text := (entry.text or "").strip():
        quoted = f"“{text}”"
        if entry.kind == "hybrid" and entry.weight is not None:
            quoted += f" (text weight {float(entry.weight):.2f})"
        parts.append(quoted)
    if entry.source_track_id and (label := (entry.feedback or {}).get("source_label")):
        parts.append(f"like {label}")
    if filters := describe_filters(entry.filters):
        parts.append(filters)
    count = len(entry.result_track_ids)
    parts.append(f"{count} result{'s' if count != 1 else ''}")
    return " · ".join(parts)


def when(created_at: datetime) -> str:
    """ "2026-11-25 14:02 UTC"."""
    return created_at.strftime("%Y-%m-%d %H:%M") + (" UTC" if created_at.utcoffset() is not None else "")


def _thumb(entry: HistoryEntry) -> str:
    thumb = entry.thumbnail or ""
    if thumb.startswith("data:image/") and '"' not in thumb:
        return f'<img class="pp-thumb" src="{escape(thumb, quote=True)}" alt="Search photo">'
    icon = {"text": "T", "similar": "≈", "feedback": "±"}.get(entry.kind, "♪")
    return f'<div class="pp-thumb pp-thumb-empty" aria-hidden="true">{icon}</div>'


def history_html(items: Iterable[HistoryEntry], total: int | None = None) -> str:
    """The user's past searches, newest first, each with thumbnail, query and its buttons."""
    rows = []
    for entry in items:
        eid = escape(str(entry.id), quote=True)
        buttons = "".join(
            f'<button type="button" class="pp-btn pp-btn-{action}" data-action="{action}" '
            f'data-entry-id="{eid}">{escape(label)}</button>'
            for action, label in HISTORY_ACTIONS.items()
        )
        rows.append(
            f'<li class="pp-history-item" data-entry-id="{eid}">{_thumb(entry)}'
            f'<div class="pp-history-text"><span class="pp-history-query">{escape(describe_entry(entry))}'
            f'</span><span class="pp-history-when">{escape(when(entry.created_at))}</span></div>'
            f'<div class="pp-history-actions">{buttons}</div></li>'
        )
    if not rows:
        return '<p class="pp-empty">No searches yet. Your searches appear here.</p>'
    more = f'<p class="pp-history-total">{len(rows)} of {total} searches shown</p>' if total else ""
    return f'<ul class="pp-history">{"".join(rows)}</ul>{more}'
