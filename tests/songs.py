"""The one builder of test songs: a valid catalog ``Song`` (or its payload) derived from a track id,
with only the fields a test cares about given."""

from __future__ import annotations

from typing import Any

from services.common.contracts.songs import Song


def song_payload(track_id: str = "t1", **fields: Any) -> dict[str, Any]:
    """The fields every ``Song`` needs, derived from ``track_id``, with ``fields`` on top."""
    return {
        "track_id": track_id,
        "title": f"Title {track_id}",
        "artist": f"Artist {track_id}",
        "genre": "pop",
        "spotify_url": f"https://open.spotify.com/track/{track_id}",
        "description": "a cheerful pop song",
        **fields,
    }


def make_song(track_id: str = "t1", **fields: Any) -> Song:
    return Song(**song_payload(track_id, **fields))
