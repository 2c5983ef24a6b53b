"""The vector index: HNSW + int8 quantization in the embedded store, exact search where it is
kept, filtered queries, building while serving, and the server backend's collection settings."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from services.search.settings import SearchSettings
from services.search.storage import open_store
from services.search.storage.base import Conditions, Upsert, point_id
from services.search.storage.edge import EdgeStore
from services.search.storage.server import ServerStore
from services.search.storage.server_requests import collection_params
from services.search.storage.tuning import ClusterLayout, IndexTuning, layout_from, tuning_from

DIM = 32
N = 6000
K = 10
# Small thresholds so a few thousand points get a graph, as the catalog does at full size.
SMALL = IndexTuning(exact_below=1000, filter_exact_below=300)
GENRES = ["pop", "rock", "rap", "edm", "latin", "r&b"]


def clustered(n: int, seed: int = 3) -> np.ndarray:
    """Unit vectors in 40 clusters, like song vectors that share descriptor phrases."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, DIM))
    vecs = centres[rng.integers(0, 40, n)] + 0.6 * rng.standard_normal((n, DIM))
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def fill(store: EdgeStore | ServerStore, vecs: np.ndarray) -> str:
    meta = store.create_version("test:model", DIM)
    store.switch_alias(meta.version)
    for start in range(0, len(vecs), 1000):
        store.upsert(None, [
            Upsert(point_id(f"t{i}"), vecs[i].tolist(), {"track_id": f"t{i}", "genres": [GENRES[i % 6]],
                                                         "year": 1960 + i % 60})
            for i in range(start, min(len(vecs), start + 1000))
        ])  # fmt: skip
    return meta.version


def ids(points) -> list[str]:
    return [p.payload["track_id"] for p in points]


@pytest.fixture(scope="module")
def vecs() -> np.ndarray:
    return clustered(N)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, vecs: np.ndarray) -> EdgeStore:
    store = EdgeStore(tmp_path_factory.mktemp("hnsw"), "songs", tuning=SMALL)
    fill(store, vecs)
    assert store.indexed_vectors() == 0  # nothing is indexed before optimize
    assert store.optimize(None) is True
    assert store.optimize(None) is False  # idempotent: the second call finds nothing to do
    yield store
    store.close()


def test_optimize_builds_a_graph_whose_results_match_exact_search(indexed: EdgeStore, vecs: np.ndarray):
    assert indexed.indexed_vectors() == N
    queries = clustered(50, seed=11)
    recalls, top1 = [], []
    for q in queries:
        exact = ids(indexed.query(None, q.tolist(), None, K, exact=True))
        approx = ids(indexed.query(None, q.tolist(), None, K))
        truth = [f"t{i}" for i in np.argsort(-(vecs @ q))[:K]]
        assert exact == truth  # the exact path is a true full scan
        recalls.append(len(set(exact) & set(approx)) / K)
        top1.append(exact[0] == approx[0])
    assert np.mean(recalls) >= 0.95
    assert np.mean(top1) >= 0.95


def test_scores_of_the_default_search_are_rescored_full_precision(indexed: EdgeStore, vecs: np.ndarray):
    """int8 finds the candidates; the scores returned are the float cosines, not int8 estimates."""
    q = clustered(1, seed=12)[0]
    for hit in indexed.query(None, q.tolist(), None, K):
        i = int(hit.payload["track_id"][1:])
        assert hit.score == pytest.approx(float(vecs[i] @ q), abs=1e-5)


@pytest.mark.parametrize("years", [(1991, 1991), (1970, 2005)], ids=["few-points-exact", "many-points-graph"])
def test_filtered_queries_return_only_matches_and_agree_with_exact(
    indexed: EdgeStore, vecs: np.ndarray, years: tuple[int, int]
):
    """A narrow filter (below ``filter_exact_below``) scans its matches exactly; a wide one walks the
    graph with the filter. Both only return matching songs, and the top songs of exact search."""
    cond = Conditions(match_any={"genres": ["rock"]}, ranges={"year": years})
    matching = [i for i in range(N) if GENRES[i % 6] == "rock" and years[0] <= 1960 + i % 60 <= years[1]]
    recalls = []
    for q in clustered(30, seed=13):
        exact = ids(indexed.query(None, q.tolist(), cond, K, exact=True))
        approx = ids(indexed.query(None, q.tolist(), cond, K))
        assert {int(t[1:]) for t in approx} <= set(matching)
        assert len(approx) == min(K, len(matching))
        recalls.append(len(set(exact) & set(approx)) / len(exact))
    if len(matching) < SMALL.filter_exact_below:
        assert np.mean(recalls) == 1.0
    else:
        assert np.mean(recalls) >= 0.95


def test_a_small_collection_keeps_exact_search(tmp_path: Path, vecs: np.ndarray):
    """Below ``exact_below`` vectors no graph is built: every query is a full scan, recall 1.0."""
    store = EdgeStore(tmp_path, "songs", tuning=IndexTuning())
    fill(store, vecs[:3000])
    store.optimize(None)
    assert store.indexed_vectors() == 0
    for q in clustered(10, seed=14):
        truth = [f"t{i}" for i in np.argsort(-(vecs[:3000] @ q))[:K]]
        assert ids(store.query(None, q.tolist(), None, K)) == truth
    store.close()


def test_the_index_survives_a_restart(tmp_path: Path, vecs: np.ndarray):
    store = EdgeStore(tmp_path, "songs", tuning=SMALL)
    fill(store, vecs[:3000])
    store.optimize(None)
    q = clustered(1, seed=15)[0].tolist()
    before = ids(store.query(None, q, None, K))
    store.close()
    reopened = EdgeStore(tmp_path, "songs", tuning=SMALL)
    assert reopened.indexed_vectors() == 3000
    assert reopened.optimize(None) is False  # nothing to rebuild
    assert ids(reopened.query(None, q, None, K)) == before
    reopened.close()


def test_a_new_version_is_built_in_a_child_while_the_active_one_serves(tmp_path: Path, vecs: np.ndarray):
    """The re-index case: the next version's graph is built out of process (qdrant-edge holds the
    GIL while building), so searches of the active version keep being answered meanwhile."""
    store = EdgeStore(tmp_path, "songs", tuning=IndexTuning(exact_below=1000, ef_construct=400, m=32))
    fill(store, vecs[:2000])  # v1, active
    q = clustered(1, seed=16)[0].tolist()
    serving = ids(store.query(None, q, None, K))
    new = store.create_version("test:model", DIM)
    store.upsert(
        new.version,
        [Upsert(point_id(f"n{i}"), v.tolist(), {"track_id": f"n{i}"}) for i, v in enumerate(vecs)],
    )
    built: list[bool] = []
    builder = threading.Thread(target=lambda: built.append(store.optimize(new.version)))
    builder.start()
    answered_during_build = 0
    while builder.is_alive():
        assert ids(store.query(None, q, None, K)) == serving
        answered_during_build += builder.is_alive()  # finished before the build did: not blocked
    builder.join()
    assert built == [True]
    assert answered_during_build >= 3
    assert store.indexed_vectors(new.version) == N  # reopened from disk with its graph
    truth = [f"n{i}" for i in np.argsort(-(vecs @ np.asarray(q)))[:K]]
    assert len(set(ids(store.query(new.version, q, None, K))) & set(truth)) >= 9
    store.close()


def test_tuning_comes_from_the_settings(tmp_path: Path):
    settings = SearchSettings(data_dir=tmp_path, hnsw_m=24, hnsw_ef=200, quantization=False)
    tuning = tuning_from(settings)
    assert (tuning.m, tuning.ef, tuning.quantization) == (24, 200, False)
    store = open_store(settings)
    assert isinstance(store, EdgeStore) and store.tuning == tuning
    store.close()


def test_server_collections_get_the_same_index_settings_and_the_cluster_layout():
    settings = SearchSettings(
        qdrant_url=":memory:", hnsw_m=24, shard_number=6, replication_factor=2,
        write_consistency_factor=2,
    )  # fmt: skip
    params = collection_params(512, tuning_from(settings), layout_from(settings))
    assert params["hnsw_config"].m == 24
    assert params["hnsw_config"].ef_construct == IndexTuning().ef_construct
    # Qdrant counts thresholds in KB of float32 vectors: 50,000 x 512 x 4 bytes.
    assert params["optimizers_config"].indexing_threshold == 100_000
    assert params["quantization_config"].scalar.type.value == "int8"
    assert params["on_disk_payload"] is True
    assert (params["shard_number"], params["replication_factor"], params["write_consistency_factor"]) == (
        6,
        2,
        2,
    )
    # qdrant-client's local mode accepts the same request (it ignores the index settings).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        store = open_store(settings)
        assert isinstance(store, ServerStore) and store.layout == ClusterLayout(6, 2, 2)
        version = fill(store, clustered(50))
        assert store.optimize(version) is False  # local mode is always "green"
        assert len(store.query(None, clustered(1)[0].tolist(), None, K)) == K
        store.close()


def test_an_impossible_cluster_layout_is_refused():
    with pytest.raises(ValueError, match="write_consistency_factor 3 exceeds replication_factor 2"):
        ClusterLayout(shard_number=2, replication_factor=2, write_consistency_factor=3)
    with pytest.raises(ValidationError):
        SearchSettings(shard_number=0)


def test_the_optimize_route_builds_a_version_and_names_unknown_ones(client, catalog_slice):
    """What the index job calls after its last batch; the version keeps every song."""
    version = client.get("/index/status").json()["active"]
    answer = client.post(f"/index/versions/{version}/optimize")
    assert answer.status_code == 200, answer.text
    assert answer.json()["points"] == len(catalog_slice)
    assert client.post("/index/versions/songs_v99/optimize").status_code == 404
