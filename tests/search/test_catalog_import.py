"""Bring your own catalog: a messy CSV (BOM, mixed encodings, blank lines, wrong types, duplicates,
10k rows) read into songs with a line-numbered report, then imported through the search service's
internal API: incremental, idempotent, beside or instead of the bundled catalog, filterable."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scripts.import_catalog import import_catalog, main
from services.common.catalog_import import CatalogFileError, read_catalog
from services.common.clients.search import SearchClient
from services.common.http import ServiceError
from tests.search.conftest import TOKEN, StandInEncoder, index_songs, search_app, search_settings

pytestmark = pytest.mark.filterwarnings("ignore:.*(Local mode|local Qdrant).*:UserWarning")
HEADER = "\ufeff Title ,Artist,energy,Tempo,genre,year,spotify_id,preview_url,danceability,valence\r\n"
GENERATED = 10_000


class MessyFile:
    """Builds the file line by line and remembers what each planted line must give."""

    def __init__(self) -> None:
        self.parts: list[bytes] = [HEADER.encode("utf-8")]
        self.line = 1
        self.problems: set[tuple[int, bool, str]] = set()  # (line, skipped, part of the reason)
        self.good = 0

    def add(self, text: str, encoding: str = "utf-8", problem: tuple[bool, str] | None = None,
            good: bool = True) -> int:  # fmt: skip
        self.line += 1
        start = self.line
        self.line += text.count("\n")
        self.parts.append((text + "\r\n").encode(encoding))
        if problem:
            self.problems.add((start, *problem))
        self.good += good
        return start

    def bytes(self) -> bytes:
        return b"".join(self.parts)


@pytest.fixture(scope="module")
def messy() -> MessyFile:
    f = MessyFile()
    f.first = f.add("Ace of Spades,Motörhead,0.95,141,rock,1980,,https://p.example/ace.mp3,0.3,0.5")
    f.add("", good=False)
    f.cp1252 = f.add("Halo,Beyoncé,0.72,80,pop,2008-09-01,,,0.5,0.4", encoding="cp1252")
    f.add("Nameless,,0.5,100,pop,2001,,,,", problem=(True, "no artist"), good=False)
    f.add("Loud Song,Band A,loud,120,rock,1999,,,,", problem=(False, "energy 'loud' is not a number"))
    f.add("Slow Song,Band B,0.2,-5,jazz,1965,,,,", problem=(False, "tempo -5 is outside 1..300"))
    f.add("ACE OF SPADES,motörhead,0.9,140,rock,1980,,,,", problem=(True, "duplicate of line 2"), good=False)
    f.add(
        "Bad Id,Band C,0.5,100,pop,2001,abc,,,", problem=(True, "not a 22-character Spotify id"), good=False
    )
    f.add("Bad URL,Band D,,,,,,javascript:alert(1),,", problem=(True, "not an http(s) URL"), good=False)
    f.add("When,Band E,0.5,100,pop,abc,,,,", problem=(False, "year 'abc' is not a plausible year"))
    f.comma = f.add('Comma,Band F,"0,82",100,pop,2001,,,,')
    f.quoted = f.add('"Hello,\nWorld",Band G,,,,,,,,')  # a quoted title over two lines
    f.add(",,,  ,,,,,,", good=False)
    f.bare = f.add("Only Names,Band H")  # short row: only title and artist
    f.spotify = f.add("With Id,Band I,0.5,100,edm,2019,4uLU6hMCjMI75M1A2tKUQC,,0.8,0.9")
    rng = random.Random(5)
    for i in range(GENERATED):
        genre = rng.choice(["pop", "rock", "edm", ""])
        f.add(f"Song {i},Artist {i % 700},{rng.random():.3f},{rng.uniform(60, 180):.1f},{genre},"
              f"{rng.randint(1960, 2020)},,,{rng.random():.3f},{rng.random():.3f}")  # fmt: skip
    f.add("Last,Band Z,x,y,,zz,,,q,w", problem=(False, "energy 'x' is not a number"))
    f.problems |= {(f.line, False, "tempo 'y' is not a number"), (f.line, False, "year 'zz'"),
                   (f.line, False, "danceability 'q'"), (f.line, False, "valence 'w'")}  # fmt: skip
    return f


def test_the_messy_file_is_read_with_every_problem_named_by_line(messy: MessyFile):
    report = read_catalog(messy.bytes(), "mine")
    assert len(report.songs) == messy.good == GENERATED + 10
    found = {(p.line, p.skipped, p.reason) for p in report.problems}
    for line, skipped, part in messy.problems:
        assert any(f[0] == line and f[1] == skipped and part in f[2] for f in found), (line, part, found)
    assert len(found) == len(messy.problems)  # and nothing else was reported
    assert report.blank_lines == 2
    by_line = {s.line: s.song for s in report.songs}
    assert by_line[messy.first].artist == "Motörhead" and by_line[messy.cp1252].artist == "Beyoncé"
    assert by_line[messy.cp1252].year == 2008 and by_line[messy.comma].energy == 0.82
    assert by_line[messy.quoted].title == "Hello,\nWorld"
    bare = by_line[messy.bare]
    assert (bare.description, bare.genre, bare.energy) == ("a song", "unknown", None)
    assert by_line[messy.first].description.startswith("a bittersweet, intense upbeat")
    assert by_line[messy.first].preview_url == "https://p.example/ace.mp3"
    spotify = by_line[messy.spotify]
    assert spotify.track_id == "4uLU6hMCjMI75M1A2tKUQC" and spotify.spotify_url.endswith(spotify.track_id)
    again = read_catalog(messy.bytes(), "mine")
    assert [s.song.track_id for s in again.songs] == [s.song.track_id for s in report.songs]
    assert [s.import_hash for s in again.songs] == [s.import_hash for s in report.songs]


@pytest.mark.parametrize(
    ("data", "source", "needle"),
    [
        (b"name,year\nx,1999\n", "mine", "no artist column"),
        (b"", "mine", "the file is empty"),
        (b"title,artist\nx,y\n", "Bad Name", "lowercase letters"),
        (b"title,artist\nx,y\n", "bundled", "not 'bundled'"),
    ],
)
def test_files_that_cannot_be_read_are_refused_whole(data: bytes, source: str, needle: str):
    with pytest.raises(CatalogFileError, match=needle):
        read_catalog(data, source)


def test_the_command_refuses_a_file_without_title_or_artist(tmp_path: Path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("label,year\nx,1999\n")
    assert main([str(path), "--source", "mine"]) == 2
    assert "no title and no artist column" in capsys.readouterr().err


def search_client(app_client: TestClient) -> SearchClient:
    client = SearchClient("http://testserver", token=TOKEN)
    client._http = app_client
    return client


@pytest.fixture(scope="module")
def edge_search(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchClient]:
    with search_settings("edge", tmp_path_factory.mktemp("import")) as settings, search_app(
        settings, StandInEncoder()
    ) as app_client:  # fmt: skip
        yield search_client(app_client)


def test_importing_10k_rows_twice_changes_nothing_the_second_time(
    edge_search: SearchClient, messy: MessyFile
):
    encoder = StandInEncoder()
    first = import_catalog(messy.bytes(), "mine", edge_search, encoder)
    assert (first.upserted, first.unchanged) == (messy.good, 0)
    assert edge_search.info().points == messy.good
    calls = encoder.text_calls
    second = import_catalog(messy.bytes(), "mine", edge_search, encoder)
    assert (second.upserted, second.unchanged, second.texts) == (0, messy.good, 0)
    assert encoder.text_calls == calls  # nothing embedded again
    changed = messy.bytes().replace(b"Only Names,Band H", b"Only Names,Band H,0.9,170")
    third = import_catalog(changed, "mine", edge_search, encoder)
    assert (third.upserted, third.unchanged) == (1, messy.good - 1)
    stored = edge_search.song(read_catalog(changed, "mine").songs[-GENERATED - 3].song.track_id)
    assert stored.title == "Only Names" and stored.energy == 0.9
    assert "Only Names" in " ".join(m.title for m in edge_search.song_names("only names"))


SMALL = b"title,artist,genre,energy\nMine One,Me,pop,0.5\nMine Two,Me,rock,0.7\nMine Three,You,,0.2\n"


def test_an_import_sits_beside_the_bundled_catalog_or_replaces_it(client: TestClient, catalog_slice):
    search = search_client(client)
    encoder = StandInEncoder()
    result = import_catalog(SMALL, "mine", search, encoder)
    assert result.upserted == 3
    assert client.get("/info").json()["points"] == len(catalog_slice) + 3
    assert client.get("/filters").json()["sources"] == ["bundled", "mine"]
    mine = {s.song.track_id for s in read_catalog(SMALL, "mine").songs}
    body = {"text": "anything", "limit": 20, "filters": {"sources": ["mine"]}, "diversity": "off"}
    hits = client.post("/search/text", json=body).json()["hits"]
    assert {h["song"]["track_id"] for h in hits} == mine
    bundled = client.post("/search/text", json=body | {"filters": {"sources": ["bundled"]}}).json()["hits"]
    assert bundled and not {h["song"]["track_id"] for h in bundled} & mine

    replaced = import_catalog(SMALL, "mine", search, encoder, replace=True)
    assert (replaced.unchanged, replaced.deleted) == (3, len(catalog_slice))
    assert client.get("/info").json()["points"] == 3
    assert client.get("/filters").json()["sources"] == ["mine"]
    # Indexing the bundled catalog again brings it back beside the import.
    index_songs(client, StandInEncoder(), catalog_slice[:5])
    assert client.get("/filters").json()["sources"] == ["bundled", "mine"]


def test_catalog_routes_are_internal_and_check_their_input(client: TestClient):
    anonymous = client.post("/catalog/replace", json={"source": "mine"}, headers={"X-Service-Token": ""})
    assert anonymous.status_code in (401, 403)
    assert client.post("/catalog/replace", json={"source": "Not OK"}).status_code == 422
    too_many = {"items": [{"track_id": str(i), "import_hash": "h"} for i in range(2001)]}
    assert client.post("/catalog/unchanged", json=too_many).status_code == 422
    anonymous = client.get("/catalog/imported", headers={"X-Service-Token": ""})
    assert anonymous.status_code in (401, 403)
    assert client.get("/catalog/imported", params={"limit": 2001}).status_code == 422
    assert client.get("/catalog/imported", params={"version": "songs_v99"}).status_code == 404


def test_the_documented_example_file_imports_cleanly():
    example = Path(__file__).parents[2] / "docs" / "catalog-example.csv"
    report = read_catalog(example.read_bytes(), "example")
    assert len(report.songs) == 5 and report.problems == []
    porch = next(s.song for s in report.songs if s.song.title == "Sunday Porch")
    assert porch.description == "a euphoric song from the 1990s"
    neon = next(s.song for s in report.songs if s.song.title == "Neon Rain")
    expected = "a bittersweet, energetic mid-tempo instrumental synthwave song from the late 2010s"
    assert neon.description == expected  # a genre outside the bundled six: "<genre> song"
    queen = next(s.song for s in report.songs if s.song.title == "Bohemian Rhapsody")
    assert queen.description == "a wistful, mellow slow rock song from the 1970s"  # the bundled rules


def test_replacing_with_a_catalog_that_has_no_songs_deletes_nothing(client: TestClient, catalog_slice):
    """A typo in the name, or a file whose every row was refused, must not empty the index."""
    answer = client.post("/catalog/replace", json={"source": "nothing-here"})
    assert answer.status_code == 409 and "nothing-here" in answer.text, answer.text
    assert client.get("/info").json()["points"] == len(catalog_slice)
    only_bad_rows = b"title,artist\nNo Artist,\n,No Title\n"
    with pytest.raises(ServiceError) as refused:
        import_catalog(only_bad_rows, "mine", search_client(client), StandInEncoder(), replace=True)
    assert refused.value.status == 409
    assert client.get("/info").json()["points"] == len(catalog_slice)


def test_the_same_file_under_another_name_moves_its_songs_to_that_catalog(client: TestClient):
    """Rows with a Spotify id keep their track id whatever the catalog's name, so a re-import
    under a new name must not be taken as "unchanged": the songs must carry the new source."""
    with_ids = b"title,artist,spotify_id\nOne,Me,4uLU6hMCjMI75M1A2tKUQC\nTwo,Me,0VjIjW4GlUZAMYd2vXMi3b\n"
    search = search_client(client)
    import_catalog(with_ids, "first", search, StandInEncoder())
    moved = import_catalog(with_ids, "second", search, StandInEncoder(), replace=True)
    assert (moved.upserted, moved.unchanged) == (2, 0)
    assert client.get("/filters").json()["sources"] == ["second"]
    assert client.get("/info").json()["points"] == 2


def test_a_row_with_a_bundled_songs_spotify_id_replaces_it_and_the_report_says_so(
    client: TestClient, catalog_slice
):
    bundled = catalog_slice[7]
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")  # quotes a title or artist with a comma
    writer.writerows(
        [("title", "artist", "spotify_id", "energy"), ("Mine One", "Me", "", "0.5"),
         (f"My {bundled.title}", bundled.artist, bundled.track_id, "0.9")]
    )  # fmt: skip
    data = rows.getvalue().encode()
    result = import_catalog(data, "mine", search_client(client), StandInEncoder())
    assert result.upserted == 2
    replaced = f"line 3: replaces {bundled.title!r} by {bundled.artist} of catalog 'bundled'"
    assert result.taken_over == [replaced]
    assert "other catalogs' songs replaced (same Spotify id): 1" in result.lines()
    assert client.get("/info").json()["points"] == len(catalog_slice) + 1
    body = {"text": "anything", "limit": 20, "filters": {"sources": ["mine"]}, "diversity": "off"}
    hits = client.post("/search/text", json=body).json()["hits"]
    mine = {h["song"]["track_id"]: h["song"]["title"] for h in hits}
    assert mine[bundled.track_id] == f"My {bundled.title}"
    again = import_catalog(data, "mine", search_client(client), StandInEncoder())
    assert (again.unchanged, again.taken_over) == (2, [])  # its own songs are not "another catalog's"
    too_many = {"source": "mine", "track_ids": [str(i) for i in range(2001)]}
    assert client.post("/catalog/taken", json=too_many).status_code == 422


@pytest.mark.parametrize(
    "data",
    [
        b"\r\n\r\ntitle,artist,energy\r\nOne,Me,0.5\r\nTwo,,0.7\r\n",  # blank lines above the header
        b"title;artist;energy\nOne;Me;0,5\nTwo;;0,7\n",  # a spreadsheet in a decimal-comma locale
        b"title\tartist\tenergy\nOne\tMe\t0.5\nTwo\t\t0.7\n",  # tab-separated
    ],
)
def test_blank_lines_above_the_header_and_other_separators_are_read(data: bytes):
    report = read_catalog(data, "mine")
    assert [(s.song.title, s.song.artist, s.song.energy) for s in report.songs] == [("One", "Me", 0.5)]
    first = data.splitlines().index(next(line for line in data.splitlines() if line.startswith(b"One")))
    assert [(p.line, p.reason) for p in report.problems] == [(first + 2, "no artist")]


def test_unchanged_needs_a_hash_for_every_song(ro_client: TestClient, catalog_slice):
    """A bundled song has no import hash: an item without one must not match it as 'unchanged'."""
    bundled = catalog_slice[0].track_id
    for item in ({"track_id": bundled}, {"track_id": bundled, "import_hash": ""}, {"import_hash": "h"}):
        answer = ro_client.post("/catalog/unchanged", json={"items": [item]})
        assert answer.status_code == 422, (item, answer.text)
