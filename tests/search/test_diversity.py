"""Diversity re-ranking: per-artist cap consistent across pages, MMR order, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from services.search.diversity import (
    MAX_CANDIDATES,
    MMR_WINDOW,
    Candidate,
    cap_per_artist,
    diversified_page,
    diversify,
    mmr,
    ranked,
)


def storage(candidates: list[Candidate]) -> tuple[list[int], object]:
    """A fake ``fetch(n)``: the top n of a fixed ranked list, recording each requested size."""
    order = ranked(candidates)
    calls: list[int] = []

    def fetch(n: int) -> list[Candidate]:
        calls.append(n)
        return order[:n]

    return calls, fetch


def skewed_catalog(n: int = 120) -> list[Candidate]:
    """The first 30 hits all belong to artist "Solo"; the rest spread over 15 artists."""
    out = []
    for i in range(n):
        artist = "Solo" if i < 30 else f"Artist {i % 15}"
        out.append(Candidate(track_id=f"t{i:03d}", score=1.0 - i / 1000, artist=artist, item=i))
    return out


def test_artist_cap_holds_across_pages_without_repeats():
    calls, fetch = storage(skewed_catalog())
    shown: list[Candidate] = []
    offset, pages = 0, 0
    while offset is not None and pages < 20:
        page = diversified_page("artist", fetch, offset, 10)
        shown += page.items
        offset, pages = page.next_offset, pages + 1
    ids = [c.track_id for c in shown]
    assert len(ids) == len(set(ids)), "a song was repeated on a later page"
    per_artist: dict[str, int] = {}
    for c in shown:
        per_artist[c.artist] = per_artist.get(c.artist, 0) + 1
    assert per_artist["Solo"] == 2, "the cap applies to the whole list, page 2 must not re-admit Solo"
    assert max(per_artist.values()) == 2
    assert len(shown) == 2 + 15 * 2  # every artist reached its cap, nothing else exists
    assert pages == 4 and offset is None  # 32 songs: 3 full pages, the 4th ends the results
    # The first page needed more candidates than the default fetch: the list was doubled.
    assert any(b == 2 * a for a, b in zip(calls, calls[1:], strict=False))


def test_artist_pages_equal_slices_of_one_long_page():
    _, fetch = storage(skewed_catalog())
    whole = diversified_page("artist", fetch, 0, 30).items
    paged = [c for off in (0, 10, 20) for c in diversified_page("artist", fetch, off, 10).items]
    assert [c.track_id for c in paged] == [c.track_id for c in whole]


def test_artist_names_compare_case_insensitively():
    cands = [
        Candidate("a", 0.9, "The Band", 0),
        Candidate("b", 0.8, "the band ", 1),
        Candidate("c", 0.7, "THE  BAND", 2),
        Candidate("d", 0.6, "Other", 3),
    ]
    assert [c.track_id for c in cap_per_artist(cands, 2)] == ["a", "b", "d"]


def test_off_mode_keeps_duplicates_and_ties_break_on_track_id():
    cands = [Candidate("z", 0.5, "X", 0), Candidate("a", 0.5, "X", 1), Candidate("m", 0.9, "X", 2)]
    assert [c.track_id for c in diversify("off", cands)] == ["m", "a", "z"]
    with pytest.raises(ValueError, match="unknown diversity mode"):
        diversify("shuffle", cands)  # type: ignore[arg-type]


def clustered_candidates() -> list[Candidate]:
    """Ten near-copies of one direction score highest; a few different songs score a bit lower."""
    rng = np.random.default_rng(7)
    base = rng.normal(size=32)
    cands = []
    for i in range(10):
        vec = base + rng.normal(scale=0.01, size=32)
        cands.append(Candidate(f"dup{i}", 0.9 - i * 0.001, f"A{i}", i, vector=vec.tolist()))
    for i in range(5):
        cands.append(Candidate(f"other{i}", 0.85 - i * 0.001, f"B{i}", 10 + i, rng.normal(size=32).tolist()))
    return cands


def test_mmr_changes_order_and_keeps_top_hit():
    cands = clustered_candidates()
    plain = [c.track_id for c in diversify("off", cands)]
    reranked = [c.track_id for c in mmr(cands, lambda_=0.7)]
    assert reranked[0] == plain[0] == "dup0"
    assert reranked != plain
    assert sorted(reranked) == sorted(plain)  # a permutation: nothing lost, nothing added
    # Plain order shows 10 near-duplicates first; MMR brings the different songs into the top 6.
    assert all(t.startswith("dup") for t in plain[:10])
    assert sum(t.startswith("other") for t in reranked[:6]) >= 4


def test_mmr_lambda_one_is_plain_relevance_and_is_deterministic():
    cands = clustered_candidates()
    assert [c.track_id for c in mmr(cands, lambda_=1.0)] == [c.track_id for c in ranked(cands)]
    shuffled = list(reversed(cands))
    assert [c.track_id for c in mmr(cands)] == [c.track_id for c in mmr(shuffled)]


def test_mmr_pages_are_slices_of_one_ranking_even_beyond_the_window():
    rng = np.random.default_rng(3)
    cands = [
        Candidate(f"t{i:04d}", 1.0 - i / 10_000, f"A{i}", i, rng.normal(size=16).tolist())
        for i in range(MMR_WINDOW + 40)
    ]
    _, fetch = storage(cands)
    whole = [c.track_id for c in diversified_page("mmr", fetch, 0, MMR_WINDOW + 40).items]
    pages = [diversified_page("mmr", fetch, off, 20) for off in range(0, MMR_WINDOW + 40, 20)]
    paged = [c.track_id for page in pages for c in page.items]
    assert paged == whole
    assert len(set(paged)) == MMR_WINDOW + 40
    assert diversified_page("mmr", fetch, MMR_WINDOW + 20, 20).next_offset is None


def test_mmr_without_vectors_is_a_clear_error():
    cands = [Candidate("a", 0.9, "X", 0), Candidate("b", 0.8, "Y", 1)]
    with pytest.raises(ValueError, match="needs candidate vectors"):
        mmr(cands)


def test_bad_paging_arguments_are_rejected_and_fetch_is_bounded():
    calls, fetch = storage(skewed_catalog(10))
    with pytest.raises(ValueError):
        diversified_page("off", fetch, -1, 10)
    with pytest.raises(ValueError):
        diversified_page("off", fetch, 0, 0)

    def endless(n: int) -> list[Candidate]:  # storage that always fills the request with one artist
        calls.append(n)
        return [Candidate(f"s{i:05d}", 1.0 - i / 1e6, "Same", i) for i in range(n)]

    page = diversified_page("artist", endless, 0, 10)
    assert len(page.items) == 2 and page.next_offset is None
    assert max(calls) == MAX_CANDIDATES
