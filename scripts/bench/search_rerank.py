"""Benchmark: what diversity re-ranking, explanations and feedback cost per search page.

Not a test (pytest does not collect it). Builds a qdrant-edge index of the full catalog with random
512-d vectors in a temp folder, then times one page (limit 20) per strategy and prints each as a
ratio to the plain search. Timings are never asserted anywhere.

    PYTHONPATH=. .venv/bin/python -m scripts.bench.search_rerank [--queries 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from services.common.catalog import load_catalog
from services.common.contracts.search import Page
from services.search.engine import SearchEngine
from services.search.explain import Explainer
from services.search.storage.base import Upsert, point_id
from services.search.storage.edge import EdgeStore

DIM = 512


def build(folder: Path, rng: np.random.Generator) -> tuple[SearchEngine, list[str], dict[str, np.ndarray]]:
    songs, _ = load_catalog(Path("data/catalog/spotify_songs.csv.gz"))
    store = EdgeStore(folder / "qdrant", "songs")
    meta = store.create_version("bench:random", DIM)
    vectors = rng.standard_normal((len(songs), DIM)).astype(np.float32)
    for start in range(0, len(songs), 2048):
        chunk = songs[start : start + 2048]
        store.upsert(meta.version, [
            Upsert(point_id(s.track_id), vectors[start + i].tolist(), s.payload())
            for i, s in enumerate(chunk)
        ])  # fmt: skip
    store.switch_alias(meta.version)
    phrases = sorted({p for s in songs for p in s.descriptors})
    phrase_vecs = {p: rng.standard_normal(DIM).tolist() for p in phrases}

    def embed(texts: list[str]) -> list[list[float]]:
        return [phrase_vecs[t] for t in texts]

    explainer = Explainer(folder / "phrases", embed, lambda: "bench:random")
    return SearchEngine(store, explainer), [s.track_id for s in songs], {}


def timed(fn, queries: int) -> float:
    samples = []
    for i in range(queries):
        start = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        engine, track_ids, _ = build(Path(tmp), rng)
        print(f"index: {len(track_ids):,} songs in {time.perf_counter() - t0:.1f} s")
        queries = [rng.standard_normal(DIM).tolist() for _ in range(args.queries)]
        plain_engine = SearchEngine(engine.store, None)  # no explanations
        engine.by_vector(queries[0], Page(limit=20), "bench:random")  # warm the phrase bank

        def page(mode: str, offset: int = 0, explained: bool = False):
            chosen = engine if explained else plain_engine
            return lambda i: chosen.by_vector(queries[i], Page(limit=20, offset=offset, diversity=mode), None)

        def feedback(i: int):
            rated = track_ids[i * 3 : i * 3 + 3]
            plain_engine.from_feedback(queries[i], rated[:1], rated[1:], Page(limit=20, diversity="off"))

        rows = [
            ("off (plain cosine)", page("off")),
            ("artist cap, page 1", page("artist")),
            ("artist cap, page 5 (offset 80)", page("artist", 80)),
            ("mmr, page 1", page("mmr")),
            ("off + explanations", page("off", explained=True)),
            ("artist + explanations (default)", page("artist", explained=True)),
            ("feedback: 1 up, 2 down, off", feedback),
        ]
        base = None
        print(f"{'page of 20':<34}{'p50 ms':>9}{'x plain':>9}")
        for name, fn in rows:
            ms = timed(fn, args.queries)
            base = base or ms
            print(f"{name:<34}{ms:>9.1f}{ms / base:>9.2f}")
        engine.store.close()


if __name__ == "__main__":
    main()
