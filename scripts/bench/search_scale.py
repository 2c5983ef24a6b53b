"""Benchmark: the embedded store at 100k, 300k and 1M songs, HNSW + int8 against exact search.

Songs are structured synthetic vectors (``scripts.bench.song_vectors``) with full catalog payloads.
For each size, one process builds the store (upsert with the service's ``EdgeStore``, then
``optimize``: build time, disk) and a fresh process serves it (RSS, latency, recall). Each query
runs, alternately, as the exact scan and as the default search (HNSW, int8 rescored), plain and
with a genre + year filter, and as the service's default page (artist cap + explanations, 20
songs). Recall@10 is the default search's overlap with the exact search of the same query in the
same process. Writes ``bench-results/search_scale-<size>.json``. Nothing is asserted.

    python -m scripts.bench.search_scale [--scales 100000 300000 1000000] [--queries 300]
    python -m scripts.bench.search_scale --sweep --scales 100000   # choose m, ef_construct, ef
    python -m scripts.bench.search_scale --sweep-ef 512 1024 2048 --scales 1000000  # ef on one build

Built stores are kept under ``--cache`` (outside the repository) and reused unless ``--rebuild``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from scripts.bench.results import Run, ms, ratio_rounds
from scripts.bench.song_vectors import CACHE, DIM, SongSet, queries, song_set
from services.search.storage.base import Conditions, Upsert, point_id
from services.search.storage.edge import EdgeStore
from services.search.storage.tuning import IndexTuning

K = 10
BATCH = 2000
ROUNDS = 5
MODEL_ID = "bench:structured"
# (m, ef_construct, payload_m); payload_m 16 is Qdrant's default (payload_m = m).
SWEEP_BUILDS = [(16, 128, 16), (16, 128, 0), (32, 128, 0)]
SWEEP_EF = [64, 128, 256, 512, 1024]
SWEEP_OVERSAMPLING = [1.0, 2.0]


def store_folder(cache: Path, n: int, tuning: IndexTuning) -> Path:
    name = f"store-{n}-m{tuning.m}-efc{tuning.ef_construct}-pm{tuning.payload_m}-q{int(tuning.quantization)}"
    return cache / name


def build(n: int, tuning: IndexTuning, cache: Path) -> dict[str, Any]:
    """Fill a new store with ``n`` songs and optimize it; build time, peak RSS and disk size."""
    from services.common.catalog import load_catalog

    songs = song_set(n, cache=cache)
    catalog, _ = load_catalog(Path("data/catalog/spotify_songs.csv.gz"))
    templates = [s.payload() for s in catalog]
    folder = store_folder(cache, n, tuning)
    shutil.rmtree(folder, ignore_errors=True)
    store = EdgeStore(folder, "songs", tuning=tuning)
    meta = store.create_version(MODEL_ID, DIM)
    store.switch_alias(meta.version)
    started = time.perf_counter()
    for start in range(0, n, BATCH):
        stop = min(n, start + BATCH)
        vectors = np.asarray(songs.vectors[start:stop])
        store.upsert(
            None,
            [
                Upsert(point_id(f"s{i}"), vectors[i - start].tolist(), payload(songs, templates, i))
                for i in range(start, stop)
            ],
        )
        if start // BATCH % 50 == 0:
            print(f"  upserted {stop:,}/{n:,} in {time.perf_counter() - started:.0f} s", flush=True)
    upsert_s = time.perf_counter() - started
    started = time.perf_counter()
    store.optimize(None)
    optimize_s = time.perf_counter() - started
    store.close()
    (folder / "complete").write_text("ok")
    return {
        # A cached store is reused by later runs: the build figures say when they were measured.
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average": round(os.getloadavg()[0], 1),
        "upsert_s": round(upsert_s, 1),
        "optimize_s": round(optimize_s, 1),
        "build_s": round(upsert_s + optimize_s, 1),
        # ru_maxrss includes the page cache of the memory-mapped source vectors read for the upsert.
        "build_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "disk_mb": round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20),
    }


def payload(songs: SongSet, templates: list[dict[str, Any]], i: int) -> dict[str, Any]:
    """A full song payload: a catalog song's fields with the synthetic song's id, artist, genre, year."""
    body = dict(templates[int(songs.phrases[i])])
    genre = songs.genres[int(songs.genre[i])]
    year = int(songs.year[i])
    body.update(
        track_id=f"s{i}",
        artist=f"artist {int(songs.artist[i])}",
        genre=genre,
        genres=[genre],
        year=year or None,
        title=f"song {i}",
    )
    return body


def recall_of(truth: set[str], got: set[str]) -> float:
    """Share of the exact top-k found; a filter nothing matches is answered right by nothing."""
    return len(truth & got) / len(truth) if truth else float(not got)


def filters_for(songs: SongSet, n: int, seed: int = 7) -> list[Conditions]:
    """One genre + a ten-year range per query, as a user's filter (about 1-3 % of the songs)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        start = int(rng.integers(1965, 2011))
        genre = songs.genres[int(rng.integers(0, len(songs.genres)))]
        out.append(Conditions(match_any={"genres": [genre]}, ranges={"year": (start, start + 9)}))
    return out


def serve(
    n: int, tuning: IndexTuning, cache: Path, n_queries: int, sweep: bool, sweep_ef: list[int] | None = None
) -> dict[str, Any]:
    """Open the built store in this fresh process and measure memory, latency and recall."""
    from services.common.contracts.search import Page
    from services.search.engine import SearchEngine
    from services.search.explain import Explainer

    songs = song_set(n, cache=cache)
    qs = queries(songs, n_queries)
    conds = filters_for(songs, n_queries)
    proc = psutil.Process()
    rss_before = proc.memory_info().rss
    store = EdgeStore(store_folder(cache, n, tuning), "songs", tuning=tuning)
    started = time.perf_counter()
    store.meta()
    with store._shard(None) as shard:  # opening the shard loads graph, quantized vectors, indexes
        info = shard.info()
    load_s = time.perf_counter() - started
    for q in qs[:20]:  # warm-up: page cache of vectors and payloads
        store.query(None, q.tolist(), None, K)
    result: dict[str, Any] = {
        "load_s": round(load_s, 1),
        "segments": info.segments_count,
        "indexed_vectors": info.indexed_vectors_count,
    }
    if sweep or sweep_ef:
        result["sweep"] = sweep_search(store, tuning, qs, conds, sweep_ef)
        store.close()
        return result
    phrases = songs.phrase_vectors

    def embed(texts: list[str]) -> list[list[float]]:
        return [phrases[t].tolist() for t in texts]

    with tempfile.TemporaryDirectory() as tmp:
        engine = SearchEngine(store, Explainer(Path(tmp), embed, lambda: MODEL_ID))
        engine.by_vector(qs[0].tolist(), Page(), MODEL_ID)  # fills the phrase bank once
        timings: dict[str, list[float]] = {
            k: [] for k in ("plain_exact", "plain", "filtered_exact", "filtered", "default_page")
        }
        recall: dict[str, list[float]] = {"plain": [], "filtered": []}
        for q, cond in zip(qs, conds, strict=True):
            vec = q.tolist()
            for kind, c in (("plain", None), ("filtered", cond)):
                t0 = time.perf_counter()
                exact = store.query(None, vec, c, K, exact=True)
                t1 = time.perf_counter()
                got = store.query(None, vec, c, K)
                t2 = time.perf_counter()
                timings[f"{kind}_exact"].append(t1 - t0)
                timings[kind].append(t2 - t1)
                truth = {p.id for p in exact}
                recall[kind].append(recall_of(truth, {p.id for p in got}))
            t0 = time.perf_counter()
            engine.by_vector(vec, Page(), MODEL_ID)
            timings["default_page"].append(time.perf_counter() - t0)
    rss_after = proc.memory_info().rss
    store.close()
    result.update(
        rss_mb=round(rss_after / 2**20),
        store_rss_mb=round((rss_after - rss_before) / 2**20),
        latency={k: ms(v) for k, v in timings.items()},
        recall_at_10={k: round(float(np.mean(v)), 4) for k, v in recall.items()},
        recall_min={k: round(float(np.min(v)), 2) for k, v in recall.items()},
        speedup_vs_exact={
            "plain": ratio_rounds(timings["plain_exact"], timings["plain"], ROUNDS),
            "filtered": ratio_rounds(timings["filtered_exact"], timings["filtered"], ROUNDS),
        },
        samples_s={k: [round(x, 6) for x in v] for k, v in timings.items()},
        recall_samples=recall,
    )
    return result


def sweep_search(
    store: EdgeStore, tuning: IndexTuning, qs: np.ndarray, conds: list[Conditions], efs: list[int] | None
) -> list[dict]:
    """Recall and latency for each query-time setting (ef, quantization use) on one built graph;
    with ``efs``, only those ef values with the default quantization settings."""
    truths = {
        kind: [
            {p.id for p in store.query(None, q.tolist(), c, K, exact=True)}
            for q, c in zip(qs, conds if kind == "filtered" else [None] * len(qs), strict=True)
        ]
        for kind in ("plain", "filtered")
    }
    rows = []
    settings = [(ef, True, o) for ef in SWEEP_EF for o in SWEEP_OVERSAMPLING] + [
        (ef, False, 1.0) for ef in SWEEP_EF
    ]
    if efs:
        settings = [(ef, tuning.quantization, tuning.oversampling) for ef in efs]
    for ef, quantized, oversampling in settings:
        store.tuning = dataclasses.replace(tuning, ef=ef, quantization=quantized, oversampling=oversampling)
        row: dict[str, Any] = {"ef": ef, "quantized": quantized, "oversampling": oversampling}
        for kind in ("plain", "filtered"):
            times, hits = [], []
            for q, c, truth in zip(
                qs, conds if kind == "filtered" else [None] * len(qs), truths[kind], strict=True
            ):
                t0 = time.perf_counter()
                got = store.query(None, q.tolist(), c, K)
                times.append(time.perf_counter() - t0)
                hits.append(recall_of(truth, {p.id for p in got}))
            row[kind] = {**ms(times), "recall_at_10": round(float(np.mean(hits)), 4)}
        rows.append(row)
        print(
            f"  ef {ef:>4} quantized {quantized!s:<5} x{oversampling}: {row['plain']} {row['filtered']}",
            flush=True,
        )
    store.tuning = tuning
    return rows


def child(
    stage: str,
    n: int,
    tuning: IndexTuning,
    cache: Path,
    n_queries: int,
    sweep: bool,
    sweep_ef: list[int] | None = None,
) -> dict[str, Any]:
    """Run one stage in a fresh interpreter, so each RSS figure is that stage's own."""
    cmd = [
        sys.executable,
        "-m",
        "scripts.bench.search_scale",
        "--stage",
        stage,
        "--scales",
        str(n),
        "--queries",
        str(n_queries),
        "--cache",
        str(cache),
        "--m",
        str(tuning.m),
        "--ef-construct",
        str(tuning.ef_construct),
        "--ef",
        str(tuning.ef),
        "--payload-m",
        str(tuning.payload_m),
    ]
    if sweep:
        cmd.append("--sweep")
    if sweep_ef:
        cmd += ["--sweep-ef", *map(str, sweep_ef)]
    out = subprocess.run(
        cmd, check=True, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": "."}
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--rebuild", action="store_true", help="build again even if a built store is cached")
    parser.add_argument("--sweep", action="store_true", help="try several m / ef_construct / ef settings")
    parser.add_argument("--sweep-ef", type=int, nargs="+", help="try these ef values on the one build")
    defaults = IndexTuning()
    parser.add_argument("--m", type=int, default=defaults.m)
    parser.add_argument("--ef-construct", type=int, default=defaults.ef_construct)
    parser.add_argument("--ef", type=int, default=defaults.ef)
    parser.add_argument("--payload-m", type=int, default=defaults.payload_m)
    parser.add_argument("--stage", choices=["build", "serve"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    tuning = dataclasses.replace(
        defaults, m=args.m, ef_construct=args.ef_construct, ef=args.ef, payload_m=args.payload_m
    )
    if args.stage == "build":
        print(json.dumps(build(args.scales[0], tuning, args.cache)))
        return
    if args.stage == "serve":
        print(json.dumps(serve(args.scales[0], tuning, args.cache, args.queries, args.sweep, args.sweep_ef)))
        return
    builds = (
        [dataclasses.replace(tuning, m=m, ef_construct=e, payload_m=p) for m, e, p in SWEEP_BUILDS]
        if args.sweep
        else [tuning]
    )
    for n in args.scales:
        run = Run(
            f"search_{'tuning' if args.sweep else 'ef' if args.sweep_ef else 'scale'}-{n // 1000}k",
            {"songs": n, "queries": args.queries, "dim": DIM, "k": K, "rounds": ROUNDS},
        )
        per_build = []
        for t in builds:
            done = store_folder(args.cache, n, t) / "complete"
            print(f"{n:,} songs, m={t.m} ef_construct={t.ef_construct} payload_m={t.payload_m}", flush=True)
            built = (
                None
                if args.rebuild or not done.exists()
                else json.loads(done.with_name("build.json").read_text())
            )
            if built is None:
                built = child("build", n, t, args.cache, args.queries, args.sweep)
                done.with_name("build.json").write_text(json.dumps(built))
            served = child("serve", n, t, args.cache, args.queries, args.sweep, args.sweep_ef)
            per_build.append({"tuning": dataclasses.asdict(t), "build": built, **served})
            partial = [
                {k: v for k, v in b.items() if k not in ("samples_s", "recall_samples")} for b in per_build
            ]
            print(json.dumps(partial[-1]), flush=True)  # each build's figures as soon as they exist
        samples = {}
        for entry in per_build:
            samples.update({k: entry.pop(k) for k in ("samples_s", "recall_samples") if k in entry})
        path = run.save({"builds": per_build}, samples)
        print(json.dumps(per_build, indent=1)[:4000])
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
