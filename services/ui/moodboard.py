"""Moodboard: 2-6 photos, one playlist, shown in the Search tab's results like any search.

Each photo is read like a single upload (size limit here, content checked by the encoder through
search); a photo that cannot be used is named in the notice and the others still count. The
history entry keeps the combined query vector, so "Run again" needs none of the photos.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from services.common.moodboard import MAX_PHOTOS, MIN_PHOTOS
from services.ui.callbacks import (
    SEARCH_SLOTS,
    VIEW_SLOTS,
    Callbacks,
    filters_from,
    history_entry,
    notice_html,
    slots,
    state_from_page,
)
from services.ui.images import Upload, UploadError, read_upload, upload_path

PLAYLIST_SIZE = 20  # one playlist, no "load more"
ORDER_LABELS = {
    "ranked": "Best match first",
    "smooth": "Smooth energy and tempo",
    "arc": "Arc: open, build, peak, close",
}
ORDER_OF_LABEL = {label: order for order, label in ORDER_LABELS.items()}


def moodboard_box() -> tuple[gr.File, gr.Radio, gr.Button]:
    """The moodboard form, created where the caller's layout is."""
    with gr.Accordion("Moodboard: several photos, one playlist", open=False, elem_id="pp-moodboard"):
        files = gr.File(
            label=f"{MIN_PHOTOS} to {MAX_PHOTOS} photos",
            file_count="multiple",
            file_types=["image"],
            type="filepath",
            elem_id="pp-moodboard-files",
        )
        order = gr.Radio(
            list(ORDER_LABELS.values()),
            value=ORDER_LABELS["ranked"],
            label="Order",
            elem_id="pp-moodboard-order",
        )
        button = gr.Button("Make one playlist", elem_id="pp-moodboard-go")
    return files, order, button


def heading(page: dict[str, Any]) -> str:
    """ "Moodboard of 3 photos · Smooth energy and tempo (energy changes 0.05 per song instead of …)"."""
    order = page.get("order", "ranked")
    text = f"Moodboard of {page.get('photos_used', 0)} photos · {ORDER_LABELS.get(order, order)}"
    jumps = page.get("jumps") or {}
    ranked, ordered = jumps.get("ranked"), jumps.get("ordered")
    if order != "ranked" and ranked and ordered:
        text += (
            f" (energy changes {ordered['energy']:.2f} per song instead of {ranked['energy']:.2f},"
            f" tempo {ordered['tempo']:.0f} BPM instead of {ranked['tempo']:.0f})"
        )
    return text


class Moodboard:
    """The moodboard handlers; pages and history go through the main ``Callbacks``."""

    def __init__(self, callbacks: Callbacks):
        self.cb = callbacks
        self.backend = callbacks.backend
        self.settings = callbacks.settings

    @slots(*VIEW_SLOTS, *SEARCH_SLOTS, "history", "history_state", "tabs")
    def make(
        self,
        session: dict[str, Any] | None,
        files: list[Any] | None,
        order_label: str | None,
        genres: list[str] | None,
        year_min: float | None,
        year_max: float | None,
        options: dict | None,
        catalogs: list[str] | None = None,
    ) -> dict[str, Any]:
        files = [f for f in files or [] if upload_path(f)]
        if not MIN_PHOTOS <= len(files) <= MAX_PHOTOS:
            return {
                "notice": notice_html(f"Add {MIN_PHOTOS} to {MAX_PHOTOS} photos; you added {len(files)}.")
            }
        order = ORDER_OF_LABEL.get(order_label or "", "ranked")
        filters = filters_from(genres, year_min, year_max, options, catalogs)
        try:
            self.cb._live_token(session)
            uploads: list[Upload] = []
            problems = []
            for value in files:
                try:
                    upload = read_upload(value, self.settings.ui_max_upload_bytes)
                except UploadError as exc:  # too big: named below, the others still count
                    problems.append(f"{_name(value)}: {exc}")
                    continue
                if upload is not None:
                    uploads.append(upload)
            if len(uploads) < 1:
                return {"notice": notice_html("None of the photos could be used. " + " ".join(problems))}
            page = self.backend.moodboard(uploads, order, filters, PLAYLIST_SIZE)
            problems += [f"{r['filename']}: {r['reason']}" for r in page.get("rejected") or []]
            used = usable(uploads, page.get("rejected") or [])
            state = state_from_page("moodboard", page, heading(page), filters)
            entry = history_entry(
                "moodboard",
                text=f"{page.get('photos_used', len(used))} photos · {ORDER_LABELS[order]}",
                filters=filters,
                upload=used[0] if used else None,
                max_px=self.settings.ui_thumbnail_px,
            )
            entry["feedback"] = replay(page, order)
            out = self.cb._show_page(session, state, entry)
            if problems:
                named = "; ".join(p.rstrip(". ") for p in problems)
                out["notice"] = notice_html(f"Not used: {named}. The other photos count.")
            return out
        except Exception as exc:  # noqa: BLE001
            return self.cb._fail(exc)

    def rerun(self, session: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
        """A stored moodboard again, from its combined vector (the photos are not stored)."""
        stored = entry.get("feedback") or {}
        if not stored.get("query_vector"):
            return {
                "notice": notice_html("This moodboard cannot be run again; make it again from its photos.")
            }
        filters = entry.get("filters") or None
        order = stored.get("order", "ranked")
        page = self.backend.moodboard_again(
            stored["query_vector"], stored.get("model_id"), order, filters, PLAYLIST_SIZE
        )
        page["photos_used"] = stored.get("photos", page.get("photos_used"))
        state = state_from_page("moodboard", page, heading(page), filters)
        new_entry = history_entry("moodboard", text=entry.get("text"), filters=filters)
        new_entry |= {
            "thumbnail": entry.get("thumbnail"),
            "image_fingerprint": entry.get("image_fingerprint"),
        }
        new_entry["feedback"] = stored
        return self.cb._show_page(session, state, new_entry)


def usable(uploads: list[Upload], rejected: list[dict[str, Any]]) -> list[Upload]:
    """The uploads search used: rejected ones are matched by their position in the request, since
    two photos may have the same file name (phones and clipboards name them "image.jpg")."""
    refused = {r["index"] for r in rejected}
    return [u for i, u in enumerate(uploads) if i not in refused]


def replay(page: dict[str, Any], order: str) -> dict[str, Any]:
    """What "Run again" needs: the combined vector (about 5 kB at 512 dimensions), model, order."""
    return {
        "query_vector": [round(x, 6) for x in page.get("query_vector") or []],
        "model_id": page.get("model_id"),
        "order": order,
        "photos": page.get("photos_used"),
    }


def _name(value: Any) -> str:
    path = upload_path(value) or "photo"
    return path.replace("\\", "/").rsplit("/", 1)[-1]
