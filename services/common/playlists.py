"""Export a page of results as a playlist: extended M3U, CSV, or plain Spotify links to paste.

Pure text builders (no I/O): the UI turns the strings into downloads or a copy box.

M3U: the catalog has no playable full tracks, only the 30-second iTunes previews the enricher found.
Songs with a preview become ``#EXTINF:<seconds>,<artist> - <title>`` + the preview URL; ``<seconds>``
is the full track's length from the catalog (-1 when unknown), as players read the real length from
the stream anyway. Songs without a preview are kept as a comment line
``# no preview: <artist> - <title> <spotify url>`` so the file still lists every result, players skip
them, and the count of skipped songs is visible in a ``#PLAYLIST`` header comment.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from services.common.schemas import Song

CSV_COLUMNS = ("title", "artist", "album", "year", "spotify_url", "preview_url")
M3U_MEDIA_TYPE = "audio/x-mpegurl"
CSV_MEDIA_TYPE = "text/csv"


def _one_line(text: str | None) -> str:
    """M3U is line-based: a newline inside a title would start a bogus entry."""
    return " ".join((text or "").split())


def track_label(song: Song) -> str:
    return f"{_one_line(song.artist)} - {_one_line(song.title)}"


def to_m3u(songs: Sequence[Song], name: str = "PixelPlay") -> str:
    """Extended M3U (UTF-8, i.e. ``.m3u8``) of the songs' previews, in result order."""
    playable = sum(1 for s in songs if s.preview_url)
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(name)} ({playable} of {len(songs)} songs have a preview)"]
    for song in songs:
        if song.preview_url:
            seconds = round(song.duration_ms / 1000) if song.duration_ms else -1
            lines += [f"#EXTINF:{seconds},{track_label(song)}", _one_line(song.preview_url)]
        else:
            lines.append(f"# no preview: {track_label(song)} {_one_line(song.spotify_url)}")
    return "\n".join(lines) + "\n"


def to_csv(songs: Sequence[Song]) -> str:
    """CSV with a header row; the csv module quotes commas, quotes and newlines in names."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180, what spreadsheets expect
    writer.writerow(CSV_COLUMNS)
    for song in songs:
        writer.writerow(
            [song.title, song.artist, song.album or "", song.display_year or "", song.spotify_url,
             song.preview_url or ""]
        )  # fmt: skip
    return buffer.getvalue()


def spotify_links(songs: Sequence[Song]) -> str:
    """One Spotify URL per line, in result order: pasted into a Spotify playlist it adds the tracks."""
    return "\n".join(song.spotify_url for song in songs)


def export_filename(kind: str, stem: str = "pixelplay") -> str:
    """``pixelplay.m3u8`` / ``pixelplay.csv`` / ``pixelplay.txt``."""
    suffix = {"m3u": "m3u8", "csv": "csv", "links": "txt"}.get(kind)
    if suffix is None:
        raise ValueError(f"unknown export kind {kind!r}; use m3u, csv or links")
    return f"{stem}.{suffix}"
