"""Small builders shared by the UI tests."""

from __future__ import annotations

from typing import Any


def song_dict(track_id: str = "t1", **overrides: Any) -> dict[str, Any]:
    """A valid ``Song`` payload as the search service returns it."""
    song = {
        "track_id": track_id,
        "title": f"Title {track_id}",
        "artist": f"Artist {track_id}",
        "genre": "pop",
        "year": 2001,
        "spotify_url": f"https://open.spotify.com/track/{track_id}",
        "description": "a cheerful pop song",
        "energy": 0.8,
        "valence": 0.7,
        "danceability": 0.6,
        "acousticness": 0.1,
    }
    song.update(overrides)
    return song


def hit(track_id: str = "t1", score: float = 0.5, explanation: list[str] | None = None, **song: Any) -> dict:
    return {"score": score, "song": song_dict(track_id, **song), "explanation": explanation or []}
