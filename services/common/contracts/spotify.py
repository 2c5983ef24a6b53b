"""The "Save to Spotify" contract between the auth service (which holds the tokens and calls
Spotify) and its callers: one set of models for the route and the client."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Spotify documents no name limit; 100 characters keeps names readable in every Spotify client.
MAX_NAME_CHARS = 100
MAX_DESCRIPTION_CHARS = 300  # Spotify cuts descriptions at 300 characters


class SpotifyStatus(BaseModel):
    enabled: bool = Field(description="the operator configured a Spotify client id")
    connected: bool = False
    display_name: str | None = None
    spotify_user_id: str | None = None
    connected_at: datetime | None = None


class ConnectStart(BaseModel):
    authorize_url: str = Field(description="send the browser here (Spotify's sign-in and consent page)")
    expires_at: datetime


class ConnectFinish(BaseModel):
    """What Spotify put on the redirect URL: ``code`` on consent, ``error`` on refusal; always ``state``."""

    model_config = ConfigDict(extra="forbid")

    state: str = Field(min_length=1, max_length=256)
    code: str | None = Field(None, max_length=2048)
    error: str | None = Field(None, max_length=256)


class SaveRequest(BaseModel):
    """Any result list: a photo search, similar songs, a history entry or a moodboard."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    description: str = Field("", max_length=MAX_DESCRIPTION_CHARS)
    track_ids: list[str] = Field(min_length=1)
    on_existing: Literal["ask", "update", "new"] = Field(
        "ask", description="list saved before: ask (answer 'exists'), update that playlist, or make a new one"
    )


class SavedPlaylist(BaseModel):
    id: str
    name: str
    url: str | None
    total: int
    added: int
    saved_at: datetime


class SaveResult(BaseModel):
    status: Literal["saved", "incomplete", "exists"]
    playlist: SavedPlaylist | None = Field(description="the playlist written, or the earlier one ('exists')")
    total: int = Field(description="distinct tracks asked for")
    added: int = Field(description="tracks now in the playlist")
    rejected: list[str] = Field(description="track ids Spotify (or the id format) refused")
    problem: str | None = Field(None, description="why an incomplete save stopped, in words for people")
    retry_after_s: float | None = None
    replaced_missing: bool = Field(False, description="'update' found the old playlist deleted, so made one")
