"""Saving a list of track ids as a private playlist in the user's Spotify account.

Tracks go in batches of at most ``MAX_ITEMS_PER_REQUEST``. A batch Spotify refuses as a bad
request is split in halves until the refused tracks are found, so the rest still goes in and the
report names exactly the tracks Spotify rejected. Once the playlist exists, any fault (rate limit,
Spotify down, access revoked) stops the save with an "incomplete" report saying how many tracks are
in and why the rest are not; the playlist is remembered, so saving the list again offers to update
it, which replaces its items with the whole list.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from uuid import UUID

from services.auth.db import Database
from services.auth.spotify_access import NotConnected, SpotifyAccess
from services.auth.spotify_api import (
    MAX_ITEMS_PER_REQUEST,
    SpotifyError,
    SpotifyRateLimited,
    SpotifyRefused,
    SpotifyUnavailable,
)
from services.auth.spotify_store import SavedList, find_saved, list_key, record_saved
from services.common.media_urls import SPOTIFY_TRACK_ID

log = logging.getLogger("pixelplay.auth.spotify")

OnExisting = Literal["ask", "update", "new"]


@dataclass
class SaveOutcome:
    status: Literal["saved", "incomplete", "exists"]
    playlist: SavedList | None
    total: int
    added: int = 0
    rejected: list[str] = field(default_factory=list)
    problem: str | None = None
    retry_after_s: float | None = None
    replaced_missing: bool = False  # "update" found the old playlist gone and made a new one


def problem_text(exc: Exception) -> str:
    """A fault while talking to Spotify, in words for the person saving."""
    if isinstance(exc, SpotifyRateLimited):
        return f"Spotify asked PixelPlay to slow down; try again in {math.ceil(exc.retry_after_s or 1)} s."
    if isinstance(exc, SpotifyUnavailable):
        return f"Spotify is having trouble right now (it answered {exc.status}); try again in a moment."
    if isinstance(exc, NotConnected):
        return str(exc)
    if isinstance(exc, SpotifyError):
        return f"Spotify refused the request: {exc.message}"
    return str(exc)


@dataclass
class PlaylistSaver:
    db: Database
    access: SpotifyAccess
    user_id: UUID

    def save(self, name: str, description: str, track_ids: list[str], on_existing: OnExisting) -> SaveOutcome:
        """Create (or update) the playlist and add the tracks. Faults before the playlist exists
        raise (nothing was saved); faults after it exists give an "incomplete" outcome."""
        ids = list(dict.fromkeys(track_ids))  # a playlist of search results has each song once
        outcome = SaveOutcome("saved", None, total=len(ids))
        # Anything but a Spotify id would fail the whole batch it is in: rejected here instead.
        outcome.rejected = [t for t in ids if not SPOTIFY_TRACK_ID.match(t)]
        valid = [t for t in ids if SPOTIFY_TRACK_ID.match(t)]
        key = list_key(ids)
        with self.db.connection() as conn:
            previous = find_saved(conn, self.user_id, key)
        if previous is not None and on_existing == "ask":
            outcome.status, outcome.playlist = "exists", previous
            outcome.rejected = []
            return outcome

        playlist_id, url = None, None
        if previous is not None and on_existing == "update":
            if self._reset(previous.playlist_id, name, description):
                playlist_id, url = previous.playlist_id, previous.url
            else:
                outcome.replaced_missing = True
        if playlist_id is None:
            created = self.access.call(
                lambda token: self.access.api.create_playlist(token, name, description)
            )
            playlist_id = str(created["id"])
            url = (created.get("external_urls") or {}).get("spotify")

        # From here the playlist exists: remember it first, so even a crash leaves "update" possible.
        outcome.playlist = SavedList(playlist_id, name, url, len(ids), 0, self._now())
        self._remember(key, outcome.playlist)
        try:
            for start in range(0, len(valid), MAX_ITEMS_PER_REQUEST):
                self._add(playlist_id, valid[start : start + MAX_ITEMS_PER_REQUEST], outcome)
        except (SpotifyError, NotConnected) as exc:
            log.warning("playlist %s incomplete (%d of %d): %s", playlist_id, outcome.added, len(ids), exc)
            outcome.status = "incomplete"
            outcome.problem = problem_text(exc)
            if isinstance(exc, SpotifyRateLimited):
                outcome.retry_after_s = exc.retry_after_s
        outcome.playlist = SavedList(playlist_id, name, url, len(ids), outcome.added, self._now())
        self._remember(key, outcome.playlist)
        return outcome

    def _reset(self, playlist_id: str, name: str, description: str) -> bool:
        """Rename the saved playlist and empty it; False when it no longer exists in Spotify."""
        api = self.access.api
        try:
            self.access.call(lambda token: api.change_details(token, playlist_id, name, description))
        except SpotifyRefused as exc:
            if exc.status == 404:
                return False
            raise
        self.access.call(lambda token: api.clear_items(token, playlist_id))
        return True

    def _add(self, playlist_id: str, batch: list[str], outcome: SaveOutcome) -> None:
        """Add ``batch``; when Spotify refuses it as a bad request, find the refused tracks by halves."""
        try:
            self.access.call(lambda token: self.access.api.add_items(token, playlist_id, batch))
        except SpotifyRefused as exc:
            if exc.status != 400:
                raise
            if len(batch) == 1:
                outcome.rejected.append(batch[0])
                return
            middle = len(batch) // 2
            self._add(playlist_id, batch[:middle], outcome)
            self._add(playlist_id, batch[middle:], outcome)
            return
        outcome.added += len(batch)

    def _remember(self, key: bytes, saved: SavedList) -> None:
        with self.db.connection() as conn:
            record_saved(conn, self.user_id, key, saved)

    def _now(self) -> datetime:
        return self.access.clock()
