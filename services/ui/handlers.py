"""Every handler module of the UI, built once over one ``Context``: what ``app.py`` wires."""

from __future__ import annotations

from dataclasses import dataclass

from services.ui.accounts import Accounts
from services.ui.context import Context
from services.ui.history_actions import History
from services.ui.moodboard import Moodboard
from services.ui.results import Results
from services.ui.search import Search
from services.ui.song_search import SongSearch
from services.ui.spotify import SpotifyPanel


@dataclass
class Handlers:
    ctx: Context
    accounts: Accounts
    search: Search
    history: History
    moodboard: Moodboard
    songs: SongSearch
    spotify: SpotifyPanel

    @classmethod
    def build(cls, ctx: Context) -> Handlers:
        results = Results(ctx)
        return cls(
            ctx=ctx,
            accounts=Accounts(ctx, results),
            search=Search(ctx, results),
            history=History(ctx, results),
            moodboard=Moodboard(ctx, results),
            songs=SongSearch(ctx.search),
            spotify=SpotifyPanel(ctx),
        )
