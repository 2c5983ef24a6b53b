"""The results on screen and the history beside them: what every kind of search ends with.

``Results.show`` puts a query's first page on screen and stores the query in the history;
``page_slots`` draws a ``SearchState``; ``history_slots`` reloads the history list.
"""

from __future__ import annotations

from html import escape

import gradio as gr

from services.common.contracts.search import SearchPage
from services.ui.cards import results_html
from services.ui.context import Context
from services.ui.errors import is_session_error, plain_message, token_of
from services.ui.history import history_html
from services.ui.query import Query, SearchState
from services.ui.slots import Session, Slots, notice_html
from services.ui.vibe import vibe_summary

NO_MATCH = "No songs matched. Try fewer filters."


def page_slots(state: SearchState, empty: str = NO_MATCH) -> Slots:
    vibe = vibe_summary([hit.song for hit in state.hits])
    return {
        "results": results_html(state.hits, state.heading, empty),
        "vibe": f'<div class="pp-vibe"><span>Vibe</span> {escape(vibe)}</div>' if vibe else "",
        "load_more": gr.update(visible=state.next_offset is not None),
        "search_state": state,
    }


class Results:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def history_slots(self, token: str) -> Slots:
        page = self.ctx.auth.history(token, limit=self.ctx.limits.history_limit)
        return {"history": history_html(page.items, page.total), "history_state": list(page.items)}

    def live_token(self, session: Session | None) -> str:
        """The session's token once auth has confirmed it: asked before any photo goes to the
        encoder, so a dead or forged session never gets an image decoded (the expensive,
        memory-hungry step)."""
        token = token_of(session)
        self.ctx.auth.me(token)
        return token

    def show(self, session: Session | None, query: Query, page: SearchPage, message: str = "") -> Slots:
        """Show a fresh first page and store its query in the history."""
        token = token_of(session)
        state = SearchState.first(query, page)
        history, warning = self._record(token, state)
        out = page_slots(state) | history
        out["notice"] = notice_html(warning or message, "error" if warning else "info")
        out["tabs"] = gr.update(selected="search")
        return out

    def _record(self, token: str, state: SearchState) -> tuple[Slots, str]:
        """Store a search in the history; returns the refreshed history slots and a warning
        ("" when stored). A rejected token propagates: the caller signs the user out."""
        assert state.query is not None
        try:
            self.ctx.auth.add_history(token, state.query.to_history(state.track_ids))
        except Exception as exc:
            if is_session_error(exc):
                raise
            return {}, f"The search worked but could not be saved to your history: {plain_message(exc)}"
        return self.history_slots(token), ""
