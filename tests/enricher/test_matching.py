"""The matcher picks the real song, not iTunes' first hit, and refuses near misses."""

from __future__ import annotations

import pytest

from services.enricher.itunes import parse_candidates
from services.enricher.matching import (
    artist_similarity,
    best_match,
    duration_closeness,
    normalise_artist,
    normalise_title,
    score_candidate,
    search_term,
)
from services.enricher.schemas import Candidate, SongQuery
from tests.enricher.fake_itunes import FIXTURES

THRESHOLD = 0.75


def query(title: str, artist: str, duration_ms: int | None, track_id: str = "x") -> SongQuery:
    return SongQuery(track_id=track_id, title=title, artist=artist, duration_ms=duration_ms)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Bohemian Rhapsody - Remastered 2011", "bohemian rhapsody"),
        ("I Don't Care (with Justin Bieber) - Loud Luxury Remix", "i dont care"),
        ("Despacito (Featuring Daddy Yankee)", "despacito"),
        ("Señorita feat. Camila Cabello", "senorita"),
        ("Dancing With A Stranger", "dancing with a stranger"),
        ("Rock & Roll [Live]", "rock and roll"),
    ],
)
def test_normalise_title_strips_versions_guests_brackets_accents(raw: str, expected: str) -> None:
    assert normalise_title(raw) == expected


def test_normalise_artist_folds_accents_case_and_leading_the() -> None:
    assert normalise_artist("Beyoncé") == normalise_artist("BEYONCE") == "beyonce"
    assert normalise_artist("The Weeknd") == "weeknd"


def test_guest_artists_on_one_side_do_not_lower_artist_similarity() -> None:
    assert artist_similarity("Billie Eilish", "Billie Eilish & Justin Bieber") == 1.0
    assert artist_similarity("Ed Sheeran", "Ed Sheeran, Justin Bieber") == 1.0
    assert artist_similarity("Queen", "The Karaoke Channel") < 0.5


def test_duration_closeness_scale() -> None:
    assert duration_closeness(200_000, 201_500) == 1.0
    assert duration_closeness(200_000, 216_000) == pytest.approx(0.5)
    assert duration_closeness(200_000, 260_000) == 0.0
    assert duration_closeness(None, 200_000) is None


def test_best_match_is_not_blindly_the_first_hit() -> None:
    song = query("Bohemian Rhapsody - Remastered 2011", "Queen", 354320, track_id="1AhDOtG9vPSOmsWgNW0BEY")
    candidates = parse_candidates(FIXTURES["bohemian_rhapsody"])
    assert candidates[0].artist == "The Karaoke Channel"  # iTunes' first hit is a cover
    accepted, best = best_match(song, candidates, THRESHOLD)
    assert accepted is best
    assert accepted is not None and accepted.candidate.itunes_id == 1440650711
    assert accepted.match.score == pytest.approx(1.0)


def test_live_version_loses_to_studio_version_on_duration() -> None:
    song = query("Bohemian Rhapsody", "Queen", 354320)
    live, studio = parse_candidates(FIXTURES["bohemian_rhapsody"])[1:3]
    assert score_candidate(song, studio).score > score_candidate(song, live).score


def test_cover_by_another_artist_is_below_threshold_even_with_same_title_and_length() -> None:
    song = query("Bad Guy", "Critic City", 194088)
    accepted, best = best_match(song, parse_candidates(FIXTURES["bad_guy_covers"]), THRESHOLD)
    assert accepted is None
    assert best is not None and best.match.title == 1.0 and best.match.score < THRESHOLD


def test_other_song_by_same_artist_is_below_threshold() -> None:
    song = query("Smells Like Teen Spirit", "Nirvana", 301920)
    other = Candidate(title="Come As You Are", artist="Nirvana", duration_ms=301920)
    assert score_candidate(song, other).score < THRESHOLD


def test_without_duration_the_text_decides() -> None:
    song = query("Take On Me", "a-ha", None)
    match = score_candidate(song, Candidate(title="Take On Me", artist="a-ha", duration_ms=225280))
    assert match.duration is None and match.score == 1.0


def test_no_candidates_means_no_match() -> None:
    assert best_match(query("a", "b", None), [], THRESHOLD) == (None, None)


def test_search_term_uses_primary_artist_and_core_title() -> None:
    assert search_term("I Don't Care (with Justin Bieber) - Loud Luxury Remix", "Ed Sheeran") == (
        "Ed Sheeran I Don't Care"
    )
    assert search_term("Señorita", "Shawn Mendes, Camila Cabello") == "Shawn Mendes Señorita"
    assert search_term("Mrs. Robinson", "Simon & Garfunkel") == "Simon & Garfunkel Mrs. Robinson"


def test_names_made_of_punctuation_or_brackets_still_compare() -> None:
    assert normalise_artist("!!!") == "!!!" and artist_similarity("!!!", "!!!") == 1.0
    assert artist_similarity("!!!", "Chk Chk Chk") < 0.5
    assert normalise_title("(Untitled)") == "(untitled)"


def test_non_latin_titles_are_compared_as_they_are() -> None:
    song = query("紅蓮華", "LiSA", 239000)
    assert score_candidate(song, Candidate(title="紅蓮華", artist="LiSA", duration_ms=239500)).score == 1.0
    assert score_candidate(song, Candidate(title="炎", artist="LiSA", duration_ms=239000)).score < THRESHOLD


def test_the_remix_in_the_catalog_gets_the_remix_not_the_original() -> None:
    # Titles normalise alike ("memories"); the duration tells the two versions apart.
    song = query("Memories - Dillon Francis Remix", "Maroon 5", 162600, track_id="0r7CVbZTWZgbTCYdfa2P31")
    original = Candidate(itunes_id=1, title="Memories", artist="Maroon 5", duration_ms=189486)
    remix = Candidate(
        itunes_id=2, title="Memories (Dillon Francis Remix)", artist="Maroon 5", duration_ms=162600
    )
    accepted, _ = best_match(song, [original, remix], THRESHOLD)
    assert accepted is not None and accepted.candidate.itunes_id == 2
