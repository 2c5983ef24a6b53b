"""Choose the iTunes track that is really the catalog song (pure functions, no I/O).

The old one-off script kept iTunes' first hit, which is often a cover, a karaoke version or another
song by the same artist. Here every candidate gets a score from normalised title and artist
similarity and duration closeness; the best one is kept only when it clears the threshold, so a
wrong song's preview is never attached.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from difflib import SequenceMatcher

from services.enricher.schemas import Candidate, MatchScore, ScoredCandidate, SongQuery

# Weights of the three signals; without a duration the text signals share the whole weight.
TITLE_WEIGHT, ARTIST_WEIGHT, DURATION_WEIGHT = 0.5, 0.3, 0.2
# A candidate's score never exceeds its weaker text similarity plus this: a cover (same title, other
# artist) or another song by the same artist cannot pass on the strength of one field.
WEAK_FIELD_MARGIN = 0.25
# Durations within this many seconds count as equal (remasters, silence trims); at the far end the
# duration signal falls to 0.
DURATION_SAME_S, DURATION_FAR_S = 2.0, 30.0

_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]|\{[^}]*\}")
# "feat." and friends start a list of guest artists that one side often has and the other not.
# "with" is left alone: it is part of too many real titles ("Dancing With A Stranger").
_FEATURING = re.compile(r"\s(?:feat\.?|ft\.?|featuring)\s.*$")
# A " - Remix" / " - Remastered 2011" / " - Radio Edit" suffix names a version, not the song.
_VERSION_SUFFIX = re.compile(r"\s+-\s+.*$")
_ARTIST_SEPARATORS = re.compile(r"\s*(?:,|&|\band\b|\bx\b|\bvs\.?|/|;)\s*")
_NOT_WORD = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Casefold and drop accents: "Beyoncé" and "BEYONCE" fold to the same string."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _words(text: str) -> str:
    text = text.replace("&", " and ")
    text = _NOT_WORD.sub("", text.replace("-", " ").replace("/", " "))
    return _SPACES.sub(" ", text).strip()


def _folded_only(text: str) -> str:
    """Fallback for names that are all brackets or punctuation ("!!!", "(Untitled)"): fold, no more."""
    return _SPACES.sub(" ", fold(text)).strip()


def normalise_title(title: str) -> str:
    """The song's core title: no brackets, guest list or version suffix, folded, punctuation gone."""
    text = _BRACKETS.sub(" ", fold(title))
    text = _VERSION_SUFFIX.sub("", text)
    text = _FEATURING.sub("", f" {text.strip()} ")
    return _words(text) or _folded_only(title)


def normalise_artist(artist: str) -> str:
    """The artist credit without guests or a leading "the", folded."""
    text = _BRACKETS.sub(" ", fold(artist))
    text = _FEATURING.sub("", f" {text.strip()} ")
    text = _words(text)
    return (text[4:] if text.startswith("the ") else text) or _folded_only(artist)


def primary_artist(artist: str) -> str:
    """The first name of a credit such as "Ed Sheeran, Justin Bieber" or "Calvin Harris & Dua Lipa"."""
    text = _BRACKETS.sub(" ", fold(artist))
    text = _FEATURING.sub("", f" {text.strip()} ")
    first = _ARTIST_SEPARATORS.split(text.strip(), maxsplit=1)[0]
    first = _words(first)
    return (first[4:] if first.startswith("the ") else first) or normalise_artist(artist)


def similarity(a: str, b: str) -> float:
    """0..1 string similarity of two already-normalised strings (1.0 when equal)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return SequenceMatcher(None, a, b).ratio()


def title_similarity(song_title: str, candidate_title: str) -> float:
    return similarity(normalise_title(song_title), normalise_title(candidate_title))


def artist_similarity(song_artist: str, candidate_artist: str) -> float:
    """Best of the whole credits and the primary artists, so a guest list on one side costs nothing."""
    whole = similarity(normalise_artist(song_artist), normalise_artist(candidate_artist))
    primary = similarity(primary_artist(song_artist), primary_artist(candidate_artist))
    return max(whole, primary)


def duration_closeness(song_ms: int | None, candidate_ms: int | None) -> float | None:
    """1.0 within DURATION_SAME_S, falling linearly to 0.0 at DURATION_FAR_S; None if unknown."""
    if not song_ms or not candidate_ms:
        return None
    gap_s = abs(song_ms - candidate_ms) / 1000
    if gap_s <= DURATION_SAME_S:
        return 1.0
    return max(0.0, 1.0 - (gap_s - DURATION_SAME_S) / (DURATION_FAR_S - DURATION_SAME_S))


def score_candidate(song: SongQuery, candidate: Candidate) -> MatchScore:
    """Weighted similarity of one candidate to the song, capped by its weaker text field."""
    title = title_similarity(song.title, candidate.title)
    artist = artist_similarity(song.artist, candidate.artist)
    duration = duration_closeness(song.duration_ms, candidate.duration_ms)
    if duration is None:
        text_weight = TITLE_WEIGHT + ARTIST_WEIGHT
        score = (TITLE_WEIGHT * title + ARTIST_WEIGHT * artist) / text_weight
    else:
        score = TITLE_WEIGHT * title + ARTIST_WEIGHT * artist + DURATION_WEIGHT * duration
    score = min(score, min(title, artist) + WEAK_FIELD_MARGIN)
    return MatchScore(
        title=round(title, 4),
        artist=round(artist, 4),
        duration=None if duration is None else round(duration, 4),
        score=round(score, 4),
    )


def rank_candidates(song: SongQuery, candidates: Iterable[Candidate]) -> list[ScoredCandidate]:
    """Candidates best first; ties go to the closer duration, then to iTunes' own order."""
    scored = [ScoredCandidate(candidate=c, match=score_candidate(song, c)) for c in candidates]

    def key(item: tuple[int, ScoredCandidate]) -> tuple[float, float, int]:
        index, sc = item
        return (-sc.match.score, -(sc.match.duration or 0.0), index)

    return [sc for _, sc in sorted(enumerate(scored), key=key)]


def best_match(
    song: SongQuery, candidates: Iterable[Candidate], threshold: float
) -> tuple[ScoredCandidate | None, ScoredCandidate | None]:
    """(accepted, best): ``accepted`` is the best candidate if it clears ``threshold``, else None.

    ``best`` is returned either way so a not_found result can say how close the nearest miss was.
    """
    ranked = rank_candidates(song, candidates)
    if not ranked:
        return None, None
    best = ranked[0]
    return (best if best.match.score >= threshold else None), best


_TERM_FEATURING = re.compile(r"\s(?:feat\.?|ft\.?|featuring)\s.*$", re.IGNORECASE)
# Only a comma splits the credit for the search term: "Simon & Garfunkel" is one artist to iTunes.
_TERM_ARTIST_SEPARATOR = re.compile(r"\s*[,;]\s*")


def search_term(title: str, artist: str) -> str:
    """The iTunes ``term`` for a song: primary artist + core title, keeping the original spelling.

    Version suffixes and guest lists are left out because they make iTunes' search miss the song;
    the matcher still compares full candidates against the full catalog entry.
    """
    core_title = _VERSION_SUFFIX.sub("", _BRACKETS.sub(" ", title))
    core_title = _TERM_FEATURING.sub("", f" {core_title.strip()} ").strip() or title.strip()
    first_artist = _TERM_ARTIST_SEPARATOR.split(_TERM_FEATURING.sub("", f" {artist.strip()} ").strip(), 1)[0]
    return _SPACES.sub(" ", f"{first_artist or artist} {core_title}").strip()
