"""Export a page of results as a playlist: extended M3U, CSV, or plain Spotify links to paste.

Pure text builders (no I/O): the UI turns the strings into downloads or a copy box.

M3U: the catalog has no playable full tracks, only the 30-second iTunes previews the enricher found.
Songs with a preview become ``#EXTINF:<seconds>,<artist> - <title>`` + the preview URL; ``<seconds>``
is the full track's length from the catalog (-1 when unknown), as players read the real length from
the stream anyway. Songs without a preview are kept as a comment line
``# no preview: <artist> - <title> <spotify url>`` so the file still lists every result, players skip
them, and the count of skipped songs is visible in a ``#PLAYLIST`` header comment.

Catalog and enrichment data come from outside, so every export is defensive: a URL is written only
when it is https on a host of ``EXPORT_URL_HOSTS`` (else left out), and a CSV cell that a
spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) is prefixed
with an apostrophe, as OWASP's CSV-injection guidance recommends.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from urllib.parse import urlsplit

from services.common.contracts.songs import Song

CSV_COLUMNS = ("title", "artist", "album", "year", "spotify_url", "preview_url")
M3U_MEDIA_TYPE = "audio/x-mpegurl"
CSV_MEDIA_TYPE = "text/csv"
# Spotify (track links) and Apple's iTunes (previews, art); subdomains included.
EXPORT_URL_HOSTS = ("spotify.com", "apple.com", "mzstatic.com")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_url(url: str | None, hosts: Sequence[str] = EXPORT_URL_HOSTS) -> str:
    """``url`` when it is https on an allowed host (or a subdomain of one); "" otherwise."""
    if not url or any(ch.isspace() for ch in url.strip()):
        return ""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return ""
    if parts.scheme != "https" or parts.username or parts.password or parts.port not in (None, 443):
        return ""
    return url if any(host == h or host.endswith("." + h) for h in hosts) else ""


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _one_line(text: str | None) -> str:
    """M3U is line-based: a newline inside a title would start a bogus entry."""
    return " ".join((text or "").split())


def track_label(song: Song) -> str:
    return f"{_one_line(song.artist)} - {_one_line(song.title)}"


def to_m3u(songs: Sequence[Song], name: str = "PixelPlay") -> str:
    """Extended M3U (UTF-8, i.e. ``.m3u8``) of the songs' previews, in result order."""
    playable = sum(1 for s in songs if safe_url(s.preview_url))
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(name)} ({playable} of {len(songs)} songs have a preview)"]
    for song in songs:
        preview = safe_url(song.preview_url)
        if preview:
            seconds = round(song.duration_ms / 1000) if song.duration_ms else -1
            lines += [f"#EXTINF:{seconds},{track_label(song)}", preview]
        else:
            lines.append(f"# no preview: {track_label(song)} {safe_url(song.spotify_url)}".rstrip())
    return "\n".join(lines) + "\n"


def to_csv(songs: Sequence[Song]) -> str:
    """CSV with a header row; the csv module quotes commas, quotes and newlines in names."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180, what spreadsheets expect
    writer.writerow(CSV_COLUMNS)
    for song in songs:
        row = [song.title, song.artist, song.album, song.display_year, safe_url(song.spotify_url),
               safe_url(song.preview_url)]  # fmt: skip
        writer.writerow([csv_cell(cell) for cell in row])
    return buffer.getvalue()


def spotify_links(songs: Sequence[Song]) -> str:
    """One Spotify URL per line, in result order: pasted into a Spotify playlist it adds the tracks."""
    return "\n".join(url for song in songs if (url := safe_url(song.spotify_url)))


def export_filename(kind: str, stem: str = "pixelplay") -> str:
    """``pixelplay.m3u8`` / ``pixelplay.csv`` / ``pixelplay.txt``."""
    suffix = {"m3u": "m3u8", "csv": "csv", "links": "txt"}.get(kind)
    if suffix is None:
        raise ValueError(f"unknown export kind {kind!r}; use m3u, csv or links")
    return f"{stem}.{suffix}"
