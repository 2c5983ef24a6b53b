"""The Search tab's handlers: the search form, "Load more" and the buttons on a result card."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from services.common.contracts.search import DEFAULT_TEXT_WEIGHT, FilterOptions, SearchHit
from services.ui.cards import ACTIONS
from services.ui.context import Context
from services.ui.errors import token_of
from services.ui.images import read_upload
from services.ui.query import Query, SearchState, filters_from
from services.ui.results import Results, page_slots
from services.ui.slots import RESULT_SLOTS, SEARCH_SLOTS, Session, Slots, event_data, fail, notice_html, slots

MAX_EMPTY_PAGES = 3  # "load more" skips at most this many pages that bring nothing new


class Search:
    def __init__(self, ctx: Context, results: Results):
        self.ctx = ctx
        self.results = results
        # Card buttons -> handler (the same names as cards.ACTIONS).
        self.card_handlers: dict[str, Callable[[Session | None, SearchState, str], Slots]] = {
            "similar": self.similar,
            "like": lambda session, state, track_id: self.rate(session, state, track_id, liked=True),
            "dislike": lambda session, state, track_id: self.rate(session, state, track_id, liked=False),
        }
        missing = set(ACTIONS) - set(self.card_handlers)
        assert not missing, f"card actions without a handler: {missing}"

    @slots(*RESULT_SLOTS)
    def search(
        self,
        session: Session | None,
        photo: Any,
        text: str | None,
        weight: float | None,
        genres: list[str] | None,
        year_min: float | None,
        year_max: float | None,
        options: FilterOptions | None,
        catalogs: list[str] | None = None,
        progress=gr.Progress(),
    ) -> Slots:
        """Photo (with optional refine text weighted by ``weight``) or text alone → first page."""
        text = (text or "").strip()
        weight = DEFAULT_TEXT_WEIGHT if weight is None else float(weight)
        filters = filters_from(genres, year_min, year_max, options, catalogs)
        try:
            token_of(session)
            upload = read_upload(photo, self.ctx.limits.max_upload_bytes)
            if upload is None and not text:
                return {"notice": notice_html("Upload a photo or describe a mood first.")}
            progress(0.2, desc="Finding songs that match")
            query = Query.from_form(text, weight, filters, upload, self.ctx.limits.thumbnail_px)
            if upload is not None:
                self.results.live_token(session)
            page = query.run(self.ctx.search, self.ctx.limits.page_size, upload=upload)
            progress(0.8, desc="Saving to your history")
            return self.results.show(session, query, page)
        except Exception as exc:  # noqa: BLE001
            return fail(exc)

    @slots("notice", *SEARCH_SLOTS)
    def load_more(self, state: SearchState | None) -> Slots:
        """The next page of the current search, without songs already on screen."""
        state = state or SearchState()
        if state.query is None or state.next_offset is None:
            return {"load_more": gr.update(visible=False)}
        seen = set(state.track_ids)
        if state.query.source_track_id:
            seen.add(state.query.source_track_id)
        added: list[SearchHit] = []
        offset: int | None = state.next_offset
        try:
            for _ in range(MAX_EMPTY_PAGES):
                page = state.query.run(self.ctx.search, self.ctx.limits.page_size, offset)
                offset = page.next_offset
                for hit in page.hits:
                    if hit.song.track_id not in seen:
                        seen.add(hit.song.track_id)
                        added.append(hit)
                if added or offset is None:
                    break
        except Exception as exc:  # noqa: BLE001
            return fail(exc)
        out = page_slots(state.more(added, offset))
        out["notice"] = "" if added else notice_html("No more songs for this search.", "info")
        return out

    @slots(*RESULT_SLOTS)
    def card_action(self, session: Session | None, state: SearchState | None, evt: gr.EventData) -> Slots:
        """A button on a result card (``data-action``), e.g. "Find similar"."""
        data = event_data(evt)
        handler = self.card_handlers.get(str(data.get("action", "")))
        track_id = str(data.get("track_id") or "")
        if handler is None or not track_id:
            return {}  # a click on the card itself, not on one of its buttons
        return handler(session, state or SearchState(), track_id)

    def similar(self, session: Session | None, state: SearchState, track_id: str) -> Slots:
        """Songs like one card's song, under "Similar to <title> — <artist>"."""
        try:
            token_of(session)
            song = next((h.song for h in state.hits if h.song.track_id == track_id), None)
            if song is None:  # picked from the song-name search, not from a card
                song = self.ctx.search.song(track_id)
            filters = state.query.filters if state.query else None
            query = Query.similar_to(track_id, f"{song.title} — {song.artist}", filters)
            return self.results.show(session, query, query.run(self.ctx.search, self.ctx.limits.page_size))
        except Exception as exc:  # noqa: BLE001
            return fail(exc)

    def rate(self, session: Session | None, state: SearchState, track_id: str, liked: bool) -> Slots:
        """Thumbs up / down on a card: the results again, refined by every rating given to this
        search so far; stored in the history as a "feedback" entry that can be rerun."""
        try:
            token_of(session)
            if state.query is None or not state.query.vector:
                return {"notice": notice_html("Run a search first, then rate its songs.", "info")}
            query = state.query.rated(track_id, liked, state.heading or "Your search")
            return self.results.show(session, query, query.run(self.ctx.search, self.ctx.limits.page_size))
        except Exception as exc:  # noqa: BLE001
            return fail(exc)
