"""Read the shipped Spotify songs table into one ``Song`` per track id.

The table has one row per (playlist, track), so the same track appears several times; those rows
are merged (genres, subgenres and playlists collected, the most frequent genre kept as primary).
Values are cleaned, never guessed: ``NA``, unparsable or out-of-range numbers become ``None``,
and a row that lacks what a card needs (id, title, artist, genre) is dropped and counted.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from services.common.contracts.songs import Song
from services.common.descriptions import describe

MISSING = {"", "NA", "N/A", "NaN", "nan", "null", "None"}
# Valid range of each numeric column; outside it the value is cleared, not the row dropped.
RANGES: dict[str, tuple[float, float]] = {
    "danceability": (0, 1),
    "energy": (0, 1),
    "valence": (0, 1),
    "acousticness": (0, 1),
    "instrumentalness": (0, 1),
    "speechiness": (0, 1),
    "liveness": (0, 1),
    "loudness": (-80, 5),
    "tempo": (1, 300),  # 0 BPM in the data means "not measured"
    "key": (0, 11),
    "mode": (0, 1),
    "duration_ms": (1000, 3_600_000),
    "track_popularity": (0, 100),
}
INTEGER_COLUMNS = {"key", "mode", "duration_ms", "track_popularity"}
FIRST_YEAR = 1900
_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


@dataclass
class CatalogReport:
    rows_read: int = 0
    rows_merged: int = 0  # duplicate rows folded into an earlier track
    dropped: Counter = field(default_factory=Counter)  # reason -> rows
    values_cleared: Counter = field(default_factory=Counter)  # column -> values set to None
    songs: int = 0

    def lines(self) -> list[str]:
        dropped, cleared = sum(self.dropped.values()), sum(self.values_cleared.values())
        out = count_lines({"rows read": self.rows_read, "songs": self.songs}, width=15)
        out += count_lines(
            {"rows merged": self.rows_merged}, width=15, note="(same track in several playlists)"
        )
        out += count_lines({"rows dropped": dropped}, width=15)
        out += count_lines(dict(sorted(self.dropped.items())), indent=2)
        out += count_lines({"values cleared": cleared}, width=15)
        return out + count_lines(dict(sorted(self.values_cleared.items())), indent=2)


def count_lines(counts: dict[str, int], width: int = 0, indent: int = 0, note: str = "") -> list[str]:
    """One ``label: 1,234`` line per count of an import report, labels padded to ``width`` so the
    numbers line up; ``note`` follows each number."""
    return [
        f"{' ' * indent}{label + ':':<{width}} {n:,}{f' {note}' if note else ''}"
        for label, n in counts.items()
    ]


def text(value: str | None) -> str | None:
    value = (value or "").strip()
    return None if value in MISSING else value


def number(row: dict[str, str], column: str, report: CatalogReport) -> float | int | None:
    raw = text(row.get(column))
    if raw is None:
        report.values_cleared[column] += 1
        return None
    try:
        value = float(raw)
    except ValueError:
        report.values_cleared[column] += 1
        return None
    low, high = RANGES[column]
    if not low <= value <= high:
        report.values_cleared[column] += 1
        return None
    return int(value) if column in INTEGER_COLUMNS else value


def release_year(raw: str | None, today: date | None = None) -> int | None:
    """Year from 'YYYY', 'YYYY-MM' or 'YYYY-MM-DD'; None when missing or implausible."""
    match = _DATE.match(text(raw) or "")
    if not match:
        return None
    year = int(match.group(1))
    return year if FIRST_YEAR <= year <= (today or date.today()).year + 1 else None


def read_rows(path: Path) -> Iterator[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def build_songs(rows: Iterable[dict[str, str]], report: CatalogReport | None = None) -> list[Song]:
    """Merge and clean catalog rows; fills ``report`` with what was merged, dropped and cleared."""
    report = report if report is not None else CatalogReport()
    first: dict[str, dict] = {}  # track id -> cleaned fields of its first good row
    genres: dict[str, Counter] = {}
    subgenres: dict[str, Counter] = {}
    playlists: dict[str, dict[str, None]] = {}
    for row in rows:
        report.rows_read += 1
        track_id = text(row.get("track_id"))
        title, artist = text(row.get("track_name")), text(row.get("track_artist"))
        genre = (text(row.get("playlist_genre")) or "").lower() or None
        if not track_id:
            report.dropped["missing track_id"] += 1
            continue
        if not title or not artist:
            report.dropped["missing title or artist"] += 1
            continue
        if not genre:
            report.dropped["missing genre"] += 1
            continue
        if track_id in first:
            report.rows_merged += 1
        else:
            first[track_id] = _clean(row, track_id, title, artist, report)
            genres[track_id], subgenres[track_id], playlists[track_id] = Counter(), Counter(), {}
        genres[track_id][genre] += 1
        if sub := text(row.get("playlist_subgenre")):
            subgenres[track_id][sub.lower()] += 1
        if name := text(row.get("playlist_name")):
            playlists[track_id][name] = None

    songs = []
    for track_id, fields in first.items():
        genre = genres[track_id].most_common(1)[0][0]
        subgenre = subgenres[track_id].most_common(1)[0][0] if subgenres[track_id] else None
        description = describe(
            genre=genre,
            subgenre=subgenre,
            year=fields["year"],
            energy=fields["energy"],
            valence=fields["valence"],
            tempo=fields["tempo"],
            danceability=fields["danceability"],
            acousticness=fields["acousticness"],
            instrumentalness=fields["instrumentalness"],
            speechiness=fields["speechiness"],
        )
        songs.append(
            Song(
                **fields,
                genre=genre,
                genres=[g for g, _ in genres[track_id].most_common()],
                subgenres=[s for s, _ in subgenres[track_id].most_common()],
                playlists=list(playlists[track_id]),
                description=description.sentence(),
                descriptors=description.phrases(),
            )
        )
    report.songs = len(songs)
    return songs


def _clean(row: dict[str, str], track_id: str, title: str, artist: str, report: CatalogReport) -> dict:
    features = {col: number(row, col, report) for col in RANGES if col != "track_popularity"}
    release = text(row.get("track_album_release_date"))
    year = release_year(release)
    if release is not None and year is None:
        report.values_cleared["track_album_release_date"] += 1
    return {
        "track_id": track_id,
        "title": title,
        "artist": artist,
        "album": text(row.get("track_album_name")),
        "album_id": text(row.get("track_album_id")),
        "release_date": release,
        "year": year,
        "popularity": number(row, "track_popularity", report),
        "spotify_url": f"https://open.spotify.com/track/{track_id}",
        **features,
    }


def load_catalog(path: Path) -> tuple[list[Song], CatalogReport]:
    """Read and merge the catalog file (CSV, optionally gzip-compressed)."""
    if not path.exists():
        raise FileNotFoundError(f"catalog not found at {path} (setting PIXELPLAY_CATALOG_PATH)")
    report = CatalogReport()
    return build_songs(read_rows(path), report), report


def rows_from_text(csv_text: str) -> Iterator[dict[str, str]]:
    """For tests and small inputs: rows from CSV text with the catalog's header."""
    return csv.DictReader(io.StringIO(csv_text))
