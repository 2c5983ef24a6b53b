"""Finding a song by its name through the full-text index on title and artist, on both backends.

The edge shard is the engine the app runs by default and tokenises as a Qdrant server does, so
prefix and case tests run against it. qdrant-client's local mode (the "server" backend in tests)
matches whole words only, whatever the index says; there the same route is tested with whole
words, which checks the filter the server receives but not the server's prefix tokenising.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.common.contracts.songs import Song
from tests.search.conftest import StandInEncoder, index_songs, search_app, search_settings


def words(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"\w+", text)]


def expected(songs: list[Song], query: str, whole_words: bool) -> set[str]:
    """Track ids whose title or artist has a word matching each query word (the oracle)."""

    def hit(word: str, song: Song) -> bool:
        fields = words(song.title) + words(song.artist)
        return any(f == word if whole_words else f.startswith(word) for f in fields)

    return {s.track_id for s in songs if all(hit(w, s) for w in words(query))}


def names(client: TestClient, q: str, limit: int = 50) -> list[dict]:
    answer = client.get("/songs/names", params={"q": q, "limit": limit})
    assert answer.status_code == 200, answer.text
    return answer.json()["matches"]


def a_title_word(songs: list[Song], min_len: int = 6) -> tuple[Song, str]:
    """A song and a long word of its title shared by few songs (so the oracle set is small)."""
    for song in songs:
        for word in words(song.title):
            if len(word) >= min_len and not word.isdigit() and len(expected(songs, word, False)) <= 5:
                return song, word
    raise AssertionError("no suitable title word in the slice")


@pytest.fixture(scope="module")
def edge_client(tmp_path_factory: pytest.TempPathFactory, catalog_slice: list[Song]) -> Iterator[TestClient]:
    encoder = StandInEncoder()
    folder = tmp_path_factory.mktemp("names")
    with search_settings("edge", folder) as settings, search_app(settings, encoder) as app_client:
        index_songs(app_client, encoder, catalog_slice)
        yield app_client


def test_prefix_and_any_case_find_the_song_on_the_edge_engine(edge_client: TestClient, catalog_slice):
    song, word = a_title_word(catalog_slice)
    typed = word[:4].upper()  # "RHAP" for "rhapsody"
    found = names(edge_client, typed)
    assert song.track_id in {m["track_id"] for m in found}
    assert {m["track_id"] for m in found} == expected(catalog_slice, typed, whole_words=False)
    # A title word and an artist word together narrow it to songs having both.
    artist_word = words(song.artist)[0]
    both = f"{word[:3]} {artist_word.title()}"
    found = names(edge_client, both)
    assert song.track_id in {m["track_id"] for m in found}
    assert {m["track_id"] for m in found} == expected(catalog_slice, both, whole_words=False)


def test_whole_words_in_another_case_match_on_both_backends(ro_client: TestClient, catalog_slice):
    song, word = a_title_word(catalog_slice)
    found = names(ro_client, word.swapcase())
    assert song.track_id in {m["track_id"] for m in found}
    assert {m["track_id"] for m in found} == expected(catalog_slice, word, whole_words=True)
    match = next(m for m in found if m["track_id"] == song.track_id)
    assert (match["title"], match["artist"], match["genre"]) == (song.title, song.artist, song.genre)


def test_titles_starting_with_the_typed_words_come_first(ro_client: TestClient, catalog_slice):
    song, word = a_title_word(catalog_slice)
    found = names(ro_client, word)
    firsts = [words(m["title"])[:1] == [word] for m in found]
    assert firsts == sorted(firsts, reverse=True)  # every "starts with" title before the others


@pytest.mark.parametrize("q", ["zzqxvw", "bohemian zzqxvw", "", "   ", "!!! ???"])
def test_unknown_or_blank_names_give_an_empty_list(ro_client: TestClient, q: str):
    assert names(ro_client, q) == []


def test_limit_and_bad_parameters(ro_client: TestClient, catalog_slice):
    artist = catalog_slice[0].artist
    assert len(names(ro_client, words(artist)[0], limit=1)) == 1
    for params, needle in (({"q": "a", "limit": 0}, "limit"), ({"q": "x" * 201}, "q")):
        answer = ro_client.get("/songs/names", params=params)
        assert answer.status_code == 422 and needle in answer.text


def test_accents_need_not_be_typed_on_the_edge_engine(tmp_path, catalog_slice):
    """People type "motley crue" and "beyonce": the index folds accents, as it folds case."""
    accented = catalog_slice[0].model_copy(
        update={"track_id": "accented-0001", "title": "Kickstart Mÿ Héart", "artist": "Mötley Crüe"}
    )
    encoder = StandInEncoder()
    with search_settings("edge", tmp_path) as settings, search_app(settings, encoder) as app_client:
        index_songs(app_client, encoder, [*catalog_slice[1:20], accented])
        for typed in ("motley crue", "MÖTLEY", "kickstart my heart", "héart crü"):
            assert accented.track_id in {m["track_id"] for m in names(app_client, typed)}, typed
