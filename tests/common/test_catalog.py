"""Catalog parsing: merging duplicate tracks, year formats, NA and out-of-range values, drops."""

from __future__ import annotations

from datetime import date

import pytest

from services.common.catalog import (
    CatalogReport,
    build_songs,
    load_catalog,
    read_rows,
    release_year,
    rows_from_text,
)
from services.common.settings import get_common_settings

HEADER = (
    "track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,"
    "track_album_release_date,playlist_name,playlist_id,playlist_genre,playlist_subgenre,danceability,"
    "energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,duration_ms"
)


def row(
    track_id="t1",
    name="Song",
    artist="Artist",
    date_="2019-06-14",
    playlist="P1",
    genre="pop",
    sub="dance pop",
    energy="0.9",
    valence="0.8",
    tempo="122.0",
    popularity="66",
) -> str:
    return (
        f'{track_id},"{name}",{artist},{popularity},a1,"Album, Deluxe",{date_},{playlist},p1,{genre},{sub},'
        f"0.748,{energy},6,-2.634,1,0.0583,0.102,0,0.0653,{valence},{tempo},194754"
    )


def songs_of(*rows: str, report: CatalogReport | None = None):
    return build_songs(rows_from_text("\n".join([HEADER, *rows])), report)


def test_duplicate_rows_merge_into_one_song_with_all_genres_and_playlists():
    report = CatalogReport()
    songs = songs_of(
        row(playlist="P1", genre="pop", sub="dance pop"),
        row(playlist="P2", genre="edm", sub="pop edm"),
        row(playlist="P3", genre="edm", sub="big room"),
        row(track_id="t2"),
        report=report,
    )
    assert [s.track_id for s in songs] == ["t1", "t2"]
    merged = songs[0]
    assert merged.genre == "edm"  # the most frequent playlist genre
    assert merged.genres == ["edm", "pop"]
    assert set(merged.subgenres) == {"dance pop", "pop edm", "big room"}
    assert merged.playlists == ["P1", "P2", "P3"]
    assert merged.album == "Album, Deluxe"  # quoted comma survives
    assert merged.spotify_url == "https://open.spotify.com/track/t1"
    assert report.rows_read == 4 and report.rows_merged == 2 and report.songs == 2


@pytest.mark.parametrize(
    ("raw", "year"),
    [
        ("2019-06-14", 2019),
        ("1975", 1975),
        ("2001-07", 2001),
        ("NA", None),
        ("", None),
        ("14/06/2019", None),
        ("1850-01-01", None),
        ("2999", None),
    ],
)
def test_release_year_formats(raw, year):
    assert release_year(raw, today=date(2026, 11, 25)) == year


def test_missing_title_or_artist_rows_are_dropped_and_counted():
    report = CatalogReport()
    songs = songs_of(
        row(name="NA"),
        row(track_id="t2", artist="NA"),
        row(track_id="t3"),
        row(track_id="", name="x"),
        report=report,
    )
    assert [s.track_id for s in songs] == ["t3"]
    assert report.dropped == {"missing title or artist": 2, "missing track_id": 1}
    assert "rows dropped:   3" in "\n".join(report.lines())


def test_out_of_range_and_na_values_are_cleared_not_guessed():
    report = CatalogReport()
    (song,) = songs_of(row(energy="1.7", valence="NA", tempo="0", popularity="abc"), report=report)
    assert song.energy is None and song.valence is None and song.tempo is None and song.popularity is None
    assert song.danceability == pytest.approx(0.748)
    assert report.values_cleared == {"energy": 1, "valence": 1, "tempo": 1, "track_popularity": 1}
    # The description simply leaves the unknown features out.
    assert "None" not in song.description and song.description.startswith("a ")


def test_shipped_catalog_counts():
    path = get_common_settings().catalog_path
    songs, report = load_catalog(path)
    assert report.rows_read == 32_833
    assert report.songs == len(songs) == len({s.track_id for s in songs})
    ids_in_table = {r["track_id"] for r in read_rows(path)}
    assert len(ids_in_table) == 28_356
    # Every id is either a song or only ever appeared in dropped rows.
    dropped_only = ids_in_table - {s.track_id for s in songs}
    assert 0 < len(dropped_only) <= report.dropped["missing title or artist"]
    assert {s.genre for s in songs} == {"edm", "rap", "pop", "r&b", "latin", "rock"}
    assert all(s.year is None or 1950 <= s.year <= 2020 for s in songs)


def test_missing_catalog_names_the_setting(tmp_path):
    with pytest.raises(FileNotFoundError, match="PIXELPLAY_CATALOG_PATH"):
        load_catalog(tmp_path / "nope.csv.gz")
