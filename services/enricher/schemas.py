"""Types of the enricher: an iTunes candidate, how well it matches a catalog song, and the task result."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class SongQuery(BaseModel):
    """What the matcher knows about the catalog song being looked up."""

    track_id: str
    title: str
    artist: str
    duration_ms: int | None = None


class Candidate(BaseModel):
    """One usable track from an iTunes Search API answer (results without a name are dropped)."""

    itunes_id: int | None = None
    title: str
    artist: str
    album: str | None = None
    duration_ms: int | None = None
    preview_url: str | None = None
    artwork_url: str | None = None  # artworkUrl100 as iTunes sent it
    itunes_url: str | None = None
    genre: str | None = None
    release_year: int | None = None


class MatchScore(BaseModel):
    """Similarity of one candidate to the song; ``score`` is what the threshold is compared with."""

    title: float
    artist: float
    duration: float | None  # None when either side has no duration
    score: float


class ScoredCandidate(BaseModel):
    candidate: Candidate
    match: MatchScore


class TaskOutcome(BaseModel):
    """What ``enrich_song`` reports back to Celery's result backend (the song itself is in search)."""

    track_id: str
    action: Literal["stored", "skipped", "stale", "unknown_track"]
    status: Literal["pending", "ok", "not_found", "failed"] | None = None
    reason: str | None = None
    match_score: float | None = None
