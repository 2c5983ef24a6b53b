"""Moodboard: 2-6 photos, one playlist, shown in the Search tab's results like any search.

Each photo is read like a single upload (size limit here, content checked by the encoder through
search); a photo that cannot be used is named in the notice and the others still count. The
query keeps the photos' combined vector, so "Run again" needs none of the photos (``Query.run``).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from services.common.contracts.search import MAX_PHOTOS, MIN_PHOTOS, Order, RejectedPhoto
from services.ui.context import Context
from services.ui.headings import ORDER_LABELS
from services.ui.images import Upload, UploadError, read_upload, upload_path
from services.ui.query import PLAYLIST_SIZE, Query, filters_from, photo_fields
from services.ui.results import Results
from services.ui.slots import RESULT_SLOTS, Session, Slots, fail, notice_html, slots

ORDER_OF_LABEL: dict[str, Order] = {label: order for order, label in ORDER_LABELS.items()}


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


class Moodboard:
    def __init__(self, ctx: Context, results: Results):
        self.ctx = ctx
        self.results = results

    @slots(*RESULT_SLOTS)
    def make(
        self, session: Session | None, files: list[Any] | None, order_label: str | None, *filter_values: Any
    ) -> Slots:
        """``filter_values``: the filter inputs, as the search form sends them (``filters_from``)."""
        files = [f for f in files or [] if upload_path(f)]
        if not MIN_PHOTOS <= len(files) <= MAX_PHOTOS:
            return {
                "notice": notice_html(f"Add {MIN_PHOTOS} to {MAX_PHOTOS} photos; you added {len(files)}.")
            }
        order = ORDER_OF_LABEL.get(order_label or "", "ranked")
        filters = filters_from(*filter_values)
        try:
            self.results.live_token(session)
            uploads: list[Upload] = []
            problems = []
            for value in files:
                try:
                    upload = read_upload(value, self.ctx.limits.max_upload_bytes)
                except UploadError as exc:  # too big: named below, the others still count
                    problems.append(f"{_name(value)}: {exc}")
                    continue
                if upload is not None:
                    uploads.append(upload)
            if len(uploads) < 1:
                return {"notice": notice_html("None of the photos could be used. " + " ".join(problems))}
            photos = [(u.filename, u.data, u.content_type) for u in uploads]
            page = self.ctx.search.moodboard(photos, order=order, filters=filters, limit=PLAYLIST_SIZE)
            problems += [f"{r.filename}: {r.reason}" for r in page.rejected]
            used = usable(uploads, page.rejected)
            query = Query(
                kind="moodboard",
                text=f"{page.photos_used} photos · {ORDER_LABELS[order]}",
                filters=filters,
                order=order,
                photos=page.photos_used,
                **(photo_fields(used[0], self.ctx.limits.thumbnail_px) if used else {}),
            )
            out = self.results.show(session, query, page)
            if problems:
                named = "; ".join(p.rstrip(". ") for p in problems)
                out["notice"] = notice_html(f"Not used: {named}. The other photos count.")
            return out
        except Exception as exc:  # noqa: BLE001
            return fail(exc)


def usable(uploads: list[Upload], rejected: list[RejectedPhoto]) -> list[Upload]:
    """The uploads search used: rejected ones are matched by their position in the request, since
    two photos may have the same file name (phones and clipboards name them "image.jpg")."""
    refused = {r.index for r in rejected}
    return [u for i, u in enumerate(uploads) if i not in refused]


def _name(value: Any) -> str:
    path = upload_path(value) or "photo"
    return path.replace("\\", "/").rsplit("/", 1)[-1]
