"""The History tab's handlers: refresh, clear, and "Run again" / "Delete" on one entry."""

from __future__ import annotations

from typing import Any

import gradio as gr

from services.common.contracts.auth import HistoryEntry
from services.common.contracts.search import FilterOptions
from services.ui.context import Context
from services.ui.errors import token_of
from services.ui.images import Upload, read_upload
from services.ui.query import Query, decode_data_url
from services.ui.results import Results
from services.ui.slots import LIST_SLOTS, RESULT_SLOTS, Session, Slots, event_data, fail, notice_html, slots

FORM_SLOTS = ("text", "weight", "genres", "year_min", "year_max")


def form_of(query: Query, options: FilterOptions | None) -> Slots:
    """A past search's text, weight and filters, put back in the search form."""
    filters = query.filters or {}
    form = {
        "text": query.text if query.kind in ("text", "hybrid") else "",
        "weight": query.weight,
        "genres": gr.update(value=list(filters.get("genres") or [])),
    }
    if options is not None and options.year_min is not None:
        form["year_min"] = filters.get("year_min") or options.year_min
        form["year_max"] = filters.get("year_max") or options.year_max
    return form


class History:
    def __init__(self, ctx: Context, results: Results):
        self.ctx = ctx
        self.results = results

    @slots(*LIST_SLOTS)
    def refresh(self, session: Session | None) -> Slots:
        try:
            return self.results.history_slots(token_of(session))
        except Exception as exc:  # noqa: BLE001
            return fail(exc)

    @slots(*LIST_SLOTS)
    def clear(self, session: Session | None) -> Slots:
        try:
            token = token_of(session)
            self.ctx.auth.clear_history(token)
            out = self.results.history_slots(token)
        except Exception as exc:  # noqa: BLE001
            return fail(exc)
        out["notice"] = notice_html("Your search history is cleared.", "info")
        return out

    @slots(*RESULT_SLOTS, *FORM_SLOTS)
    def action(
        self,
        session: Session | None,
        items: list[HistoryEntry] | None,
        photo: Any,
        options: FilterOptions | None,
        evt: gr.EventData,
    ) -> Slots:
        """ "Run again" or "Delete" on one history row."""
        data = event_data(evt)
        action, entry_id = data.get("action"), str(data.get("entry_id") or "")
        entry = next((e for e in items or [] if str(e.id) == entry_id), None)
        if action not in ("rerun", "delete") or entry is None:
            return {}
        try:
            token = token_of(session)
            if action == "delete":
                self.ctx.auth.delete_history_entry(token, entry_id)
                return self.results.history_slots(token) | {
                    "notice": notice_html("Search removed from history.", "info")
                }
            return self.rerun(session, entry, photo, options)
        except Exception as exc:  # noqa: BLE001
            return fail(exc)

    def rerun(
        self, session: Session | None, entry: HistoryEntry, photo: Any, options: FilterOptions | None
    ) -> Slots:
        """Run a past search again with its text, weight and filters (also put back in the form)."""
        query = Query.from_history(entry)
        form = form_of(query, options)
        limit = self.ctx.limits.page_size
        if query.runs_without_photo():
            return self.results.show(session, query, query.run(self.ctx.search, limit)) | form
        if query.kind == "moodboard":
            text = "This moodboard cannot be run again; make it again from its photos."
            return {"notice": notice_html(text)} | form
        if query.kind not in ("image", "hybrid"):
            return {
                "notice": notice_html("This search cannot be run again; search again from the form.")
            } | form
        # A photo search: the original photo is not stored, only its fingerprint and a thumbnail.
        # Use the photo still in the form when it is the same one, else the stored thumbnail.
        upload = read_upload(photo, self.ctx.limits.max_upload_bytes)
        message = ""
        if upload is None or upload.fingerprint != query.image_fingerprint:
            thumb = decode_data_url(query.thumbnail)
            if thumb is None:
                return {"notice": notice_html("This search's photo is not stored; upload it again to rerun.")}
            upload = Upload(thumb, "thumbnail.jpg", "image/jpeg")
            message = "Ran again from the saved thumbnail (the original photo is not stored)."
        self.results.live_token(session)
        page = query.run(self.ctx.search, limit, upload=upload)
        return self.results.show(session, query, page, message) | form
