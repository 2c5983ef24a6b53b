"""Read a catalog someone brings: a CSV with at least a title and an artist per row.

Optional columns: the audio features (danceability, energy, valence, tempo, acousticness,
instrumentalness, speechiness, liveness, loudness), genre, year (or a release date), Spotify id
and preview URL; common alternative names are accepted (``HEADER_ALIASES``). The file may start
with a byte-order mark and mix UTF-8 and Windows-1252 lines (each line is decoded on its own).

Every row is checked and the report names each problem with its line number: a row without a
title or an artist, with a malformed Spotify id or preview URL, or repeating an earlier song is
skipped; a value of the wrong type or out of range is cleared and the row kept, so nothing good
is dropped because of a bad value. Songs get a description from whatever is there
(``services/common/descriptions.py``) and a deterministic track id, so importing the same file
again finds the same songs. Format and example: docs/catalog.md.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from services.common.catalog import RANGES, count_lines, release_year, text
from services.common.contracts.songs import Song
from services.common.descriptions import GENRE_NOUNS, describe

FEATURES = ("danceability", "energy", "valence", "tempo", "acousticness", "instrumentalness",
            "speechiness", "liveness", "loudness")  # fmt: skip
HEADER_ALIASES = {
    "title": ("title", "track_name", "name", "song", "track"),
    "artist": ("artist", "track_artist", "artists", "artist_name"),
    "genre": ("genre", "playlist_genre"),
    "year": ("year", "release_year", "release_date", "track_album_release_date"),
    "spotify_id": ("spotify_id", "track_id", "spotify_track_id", "id"),
    "preview_url": ("preview_url", "preview"),
    **{name: (name,) for name in FEATURES},
}
DESCRIBED = ("energy", "valence", "tempo", "danceability", "acousticness", "instrumentalness", "speechiness")
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
BUNDLED = "bundled"  # the shipped catalog's source name, not available to an import
SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
MAX_TEXT = 300  # longest title, artist or genre kept


class CatalogFileError(ValueError):
    """The file as a whole cannot be read (no title/artist column, not a CSV); the message says why."""


@dataclass(frozen=True)
class Problem:
    line: int
    reason: str
    skipped: bool  # True: the row was left out; False: a value was cleared, the row kept

    def text(self) -> str:
        return f"line {self.line}: {'skipped' if self.skipped else 'kept'}: {self.reason}"


@dataclass
class ImportedSong:
    line: int
    song: Song
    import_hash: str  # changes when anything imported from the row changes


@dataclass
class ImportReport:
    rows: int = 0  # data rows read, blank lines not counted
    blank_lines: int = 0
    songs: list[ImportedSong] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return sum(p.skipped for p in self.problems)

    def lines(self) -> list[str]:
        rows = count_lines({"rows read": self.rows}, note=f"(blank lines ignored: {self.blank_lines:,})")
        cleared = sum(not p.skipped for p in self.problems)
        counts = {"songs": len(self.songs), "rows skipped": self.skipped, "values cleared": cleared}
        return rows + count_lines(counts) + [p.text() for p in self.problems]


def decode_lines(data: bytes) -> str:
    """The file as text: BOM dropped, each line UTF-8 when it is valid UTF-8, else Windows-1252
    (a spreadsheet export edited in two tools mixes both)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    out = []
    for raw in data.splitlines(keepends=True):
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(raw.decode("cp1252", errors="replace"))
    return "".join(out)


def _columns(header: list[str]) -> dict[str, int]:
    """Our field name -> column index, from the file's header (case and spaces ignored)."""
    names = [h.strip().lower().replace(" ", "_") for h in header]
    found = {}
    for ours, aliases in HEADER_ALIASES.items():
        for alias in aliases:
            if alias in names:
                found[ours] = names.index(alias)
                break
    missing = [c for c in ("title", "artist") if c not in found]
    if missing:
        raise CatalogFileError(f"the header has no {' and no '.join(missing)} column (header: {header})")
    return found


def _text(value: str | None) -> str | None:
    value = text(value)
    return value[:MAX_TEXT] if value is not None else None


def _number(raw: str) -> float:
    """A number, also with a decimal comma ("0,82", as some spreadsheets export); ValueError else."""
    if raw.count(",") == 1 and "." not in raw:
        raw = raw.replace(",", ".")
    value = float(raw)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(raw)
    return value


SEPARATORS = ",;\t"


def _separator(text: str) -> str:
    """The header line's most frequent of comma, semicolon and tab: spreadsheets in locales with a
    decimal comma save "CSV" with semicolons, and some exports use tabs."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    return max(SEPARATORS, key=header.count) if any(c in header for c in SEPARATORS) else ","


def track_id_for(source: str, title: str, artist: str, spotify_id: str | None) -> str:
    """The Spotify id when there is one, else a stable id from the source, title and artist."""
    if spotify_id:
        return spotify_id
    key = f"{title.casefold()}\x1f{artist.casefold()}".encode()
    return f"{source}-{hashlib.sha256(key).hexdigest()[:20]}"


def read_catalog(data: bytes, source: str) -> ImportReport:
    """Validate every row of a CSV file's bytes; the report holds the songs and each problem."""
    if not SOURCE_NAME.match(source) or source == BUNDLED:
        raise CatalogFileError(
            f"catalog name {source!r}: use lowercase letters, digits, - and _ (and not {BUNDLED!r})"
        )
    report = ImportReport()
    text = decode_lines(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_separator(text))
    try:
        header = next(reader)
        while not any(cell.strip() for cell in header):  # blank lines above the header
            header = next(reader)
    except StopIteration:
        raise CatalogFileError("the file is empty") from None
    except csv.Error as exc:
        raise CatalogFileError(f"not a CSV file: {exc}") from None
    columns = _columns(header)
    first_line: dict[str, int] = {}
    line = reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line = reader.line_num
            report.problems.append(Problem(start, f"not a CSV row: {exc}", True))
            continue
        line = reader.line_num
        if not any(c.strip() for c in cells):
            report.blank_lines += 1
            continue
        report.rows += 1
        row = {ours: cells[i] if i < len(cells) else "" for ours, i in columns.items()}
        song = _song(row, start, source, report)
        if song is None:
            continue
        earlier = first_line.get(song.track_id)
        if earlier is not None:
            report.problems.append(Problem(start, f"duplicate of line {earlier} (same song)", True))
            continue
        first_line[song.track_id] = start
        # The source is part of the hash: a row with a Spotify id has the same track id in every
        # catalog, and importing it under another name must move it there, not count as unchanged.
        stored = {"source": source, "song": song.payload()}
        digest = hashlib.sha256(json.dumps(stored, sort_keys=True).encode()).hexdigest()
        report.songs.append(ImportedSong(start, song, digest[:32]))
    return report


def _song(row: dict[str, str], line: int, source: str, report: ImportReport) -> Song | None:
    title, artist = _text(row.get("title")), _text(row.get("artist"))
    if not title or not artist:
        missing = " and ".join(n for n, v in (("title", title), ("artist", artist)) if not v)
        report.problems.append(Problem(line, f"no {missing}", True))
        return None
    spotify_id = _text(row.get("spotify_id"))
    if spotify_id and not SPOTIFY_ID.match(spotify_id):
        report.problems.append(
            Problem(line, f"spotify_id {spotify_id!r} is not a 22-character Spotify id", True)
        )
        return None
    preview = _text(row.get("preview_url"))
    if preview and not preview.lower().startswith(("https://", "http://")):
        report.problems.append(Problem(line, f"preview_url {preview!r} is not an http(s) URL", True))
        return None

    def clear(reason: str) -> None:
        report.problems.append(Problem(line, reason, False))

    features: dict[str, float | None] = {}
    for name in FEATURES:
        raw = _text(row.get(name))
        value = None
        if raw is not None:
            try:
                value = _number(raw)
            except ValueError:
                clear(f"{name} {raw!r} is not a number")
            else:
                low, high = RANGES[name]
                if not low <= value <= high:
                    clear(f"{name} {raw} is outside {low:g}..{high:g}")
                    value = None
        features[name] = value
    raw_year = _text(row.get("year"))
    year = release_year(raw_year) if raw_year else None
    if raw_year and year is None:
        clear(f"year {raw_year!r} is not a plausible year or date")
    genre = (_text(row.get("genre")) or "").lower() or None
    track_id = track_id_for(source, title, artist, spotify_id)
    described = {k: features[k] for k in DESCRIBED}
    description = describe(genre=genre or "unknown", subgenre=None, year=year, **described)
    if genre is None:  # no genre to name: "a cheerful, lively song", not "an unknown song"
        description = dataclasses.replace(description, style="song", noun="song")
    elif genre not in GENRE_NOUNS:  # "synthwave song", not "synthwave synthwave song"
        description = dataclasses.replace(description, noun="song")
    spotify_url = (
        f"https://open.spotify.com/track/{spotify_id}"
        if spotify_id
        else f"https://open.spotify.com/search/{quote(f'{title} {artist}')}"
    )
    return Song(
        track_id=track_id,
        title=title,
        artist=artist,
        genre=genre or "unknown",
        genres=[genre] if genre else [],
        year=year,
        release_date=raw_year if year else None,
        spotify_url=spotify_url,
        preview_url=preview,
        description=description.sentence(),
        descriptors=description.phrases(),
        **features,
    )
