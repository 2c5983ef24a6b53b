"""The storage contract, run against both backends: qdrant-edge and qdrant-client (local mode)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from services.search.storage.base import (
    Conditions,
    IndexMissing,
    Recommend,
    Upsert,
    VersionNotFound,
    point_id,
)
from services.search.storage.store import VectorStore

DIM = 16
N = 200


@pytest.fixture(params=["edge", "server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    if request.param == "edge":
        from services.search.storage.edge import EdgeStore

        s: VectorStore = EdgeStore(tmp_path / "qdrant", "songs")
    else:
        from services.search.storage.server import ServerStore

        s = ServerStore(":memory:", "songs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # local mode: "payload indexes have no effect"
        yield s
    s.close()


@pytest.fixture
def vectors() -> np.ndarray:
    rng = np.random.default_rng(7)
    vecs = rng.standard_normal((N, DIM))
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def payload(i: int) -> dict:
    return {
        "track_id": f"t{i}",
        "artist": f"a{i % 10}",
        "genres": ["rock", "pop"] if i % 3 == 0 else ["edm"],
        "year": 1970 + i % 50,
        "energy": (i % 100) / 100,
        "enrich_status": "pending" if i % 4 else "ok",
    }


@pytest.fixture
def filled(store: VectorStore, vectors: np.ndarray) -> VectorStore:
    meta = store.create_version("model-a", DIM)
    store.switch_alias(meta.version)
    store.upsert(None, [Upsert(point_id(f"t{i}"), vectors[i].tolist(), payload(i)) for i in range(N)])
    return store


def test_empty_store_has_no_alias_and_says_how_to_fill_it(store: VectorStore):
    assert store.active_version() is None
    with pytest.raises(IndexMissing, match="index_catalog"):
        store.count()


def test_version_records_its_model_and_dimension(filled: VectorStore):
    meta = filled.meta()
    assert (meta.version, meta.model_id, meta.dim) == ("songs_v1", "model-a", DIM)
    assert filled.versions() == ["songs_v1"]
    assert filled.count() == N


def test_exact_search_matches_numpy_brute_force(filled: VectorStore, vectors: np.ndarray):
    rng = np.random.default_rng(11)
    for _ in range(10):
        q = rng.standard_normal(DIM)
        expected = np.argsort(-(vectors @ (q / np.linalg.norm(q))))[:10]
        hits = filled.query(None, q.tolist(), None, 10)
        assert [h.payload["track_id"] for h in hits] == [f"t{i}" for i in expected]
        assert hits[0].score >= hits[-1].score


def test_upsert_with_the_same_ids_overwrites_instead_of_duplicating(filled: VectorStore, vectors: np.ndarray):
    filled.upsert(None, [Upsert(point_id("t1"), vectors[2].tolist(), {**payload(1), "title": "new"})])
    assert filled.count() == N
    [point] = filled.retrieve(None, [point_id("t1")], with_vectors=True)
    assert point.payload["title"] == "new"
    assert np.allclose(point.vector, vectors[2], atol=1e-5)


def test_filters_genre_any_of_ranges_and_excluded_ids(filled: VectorStore, vectors: np.ndarray):
    cond = Conditions(
        match_any={"genres": ["pop", "jazz"]},
        ranges={"year": (1980, 1999), "energy": (None, 0.5)},
        exclude_ids=[point_id("t12")],
    )
    hits = filled.query(None, vectors[0].tolist(), cond, N)
    expected = {
        f"t{i}"
        for i in range(N)
        if i % 3 == 0 and 1980 <= 1970 + i % 50 <= 1999 and (i % 100) / 100 <= 0.5 and i != 12
    }
    assert {h.payload["track_id"] for h in hits} == expected
    assert filled.count(None, cond) == len(expected)


def test_either_is_an_or_group(filled: VectorStore):
    cond = Conditions(
        either=[Conditions(match_any={"enrich_status": ["ok"]}), Conditions(ranges={"year": (2019, None)})]
    )
    expected = sum(1 for i in range(N) if i % 4 == 0 or 1970 + i % 50 >= 2019)
    assert filled.count(None, cond) == expected


def test_exclude_any_leaves_out_those_values_and_keeps_points_without_the_field(filled: VectorStore):
    cond = Conditions(
        exclude_any={"enrich_status": ["ok"], "missing_field": ["x"]}, exclude_ids=[point_id("t1")]
    )
    expected = {f"t{i}" for i in range(N) if i % 4 and i != 1}
    points, _ = filled.scroll(None, cond, N)
    assert {p.payload["track_id"] for p in points} == expected
    assert filled.count(None, cond) == len(expected)


def test_recommend_ranks_by_the_positive_and_can_exclude_it(filled: VectorStore, vectors: np.ndarray):
    hits = filled.query(None, Recommend([vectors[5].tolist()]), Conditions(exclude_ids=[point_id("t5")]), 5)
    expected = [i for i in np.argsort(-(vectors @ vectors[5])) if i != 5][:5]
    assert [h.payload["track_id"] for h in hits] == [f"t{i}" for i in expected]


def test_offset_pages_do_not_overlap(filled: VectorStore, vectors: np.ndarray):
    first = filled.query(None, vectors[3].tolist(), None, 10, 0)
    second = filled.query(None, vectors[3].tolist(), None, 10, 10)
    assert not {h.id for h in first} & {h.id for h in second}
    assert first[-1].score >= second[0].score


def test_scroll_visits_every_point_once(filled: VectorStore):
    seen, after = [], None
    for _ in range(100):
        points, after = filled.scroll(None, None, 37, after, ["track_id"])
        seen += [p.payload["track_id"] for p in points]
        if after is None:
            break
    assert sorted(seen) == sorted(f"t{i}" for i in range(N))


def test_set_payload_changes_only_the_given_fields(filled: VectorStore):
    filled.set_payload(None, point_id("t1"), {"enrich_status": "ok", "enriched_at": 5.0})
    [point] = filled.retrieve(None, [point_id("t1")])
    assert point.payload["enrich_status"] == "ok" and point.payload["year"] == payload(1)["year"]


def test_alias_switch_and_drop(filled: VectorStore, vectors: np.ndarray):
    new = filled.create_version("model-b", DIM)
    assert new.version == "songs_v2" and filled.active_version() == "songs_v1"  # not switched yet
    filled.upsert(new.version, [Upsert(point_id("x"), vectors[0].tolist(), {"track_id": "x"})])
    assert filled.count() == N  # searches still see v1
    with pytest.raises(ValueError, match="switch the alias first"):
        filled.drop_version("songs_v1")
    assert filled.switch_alias(new.version) == "songs_v1"
    assert filled.count() == 1 and filled.meta().model_id == "model-b"
    filled.drop_version("songs_v1")
    assert filled.versions() == ["songs_v2"]
    with pytest.raises(VersionNotFound):
        filled.meta("songs_v1")
    assert filled.create_version("model-c", DIM).version == "songs_v3"  # newer than any existing version


def test_edge_store_reopens_with_alias_meta_and_points(tmp_path: Path, vectors: np.ndarray):
    from services.search.storage.edge import EdgeStore

    store = EdgeStore(tmp_path / "q", "songs")
    meta = store.create_version("model-a", DIM)
    store.switch_alias(meta.version)
    store.upsert(None, [Upsert(point_id("t0"), vectors[0].tolist(), payload(0))])
    store.close()
    again = EdgeStore(tmp_path / "q", "songs")
    assert again.active_version() == "songs_v1" and again.meta().model_id == "model-a"
    assert again.retrieve(None, [point_id("t0")])[0].payload["track_id"] == "t0"
    again.close()
