"""Search latency (issue #8, target 4): the search service at catalog size, then the edge engine
at 100k / 300k / 1M synthetic vectors.

Part 1 starts the real search service (uvicorn, embedded qdrant-edge) in a temp folder, indexes
every catalog song with a random unit 512-d vector through the internal index API, and times 1,000
``POST /search/vector`` calls (vector in → 10 hits with full payloads out, diversity off) over
HTTP. recall@10 compares the returned ids with exact numpy top-10.

Part 2 drives ``EdgeStore`` directly with synthetic points (small payloads) at growing sizes and
reports insert time, query p50/p99 (plain and with a genre + year filter) and recall@10, within a
time budget. Nothing is asserted: it prints numbers for docs/benchmarks.md.

    python -m scripts.bench.search_latency [--queries 1000] [--scales 100000 300000 1000000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

DIM = 512
K = 10


def unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    vecs = rng.standard_normal((n, DIM), dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_s)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return p50 * 1000, p99 * 1000


def service_benchmark(queries: int, seed: int) -> None:
    from services.common.catalog import load_catalog
    from services.common.settings import get_settings
    from tests.processes import running_service

    songs, _ = load_catalog(get_settings().catalog_path)
    rng = np.random.default_rng(seed)
    vectors = unit_rows(rng, len(songs))
    token = "bench-token"
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "PIXELPLAY_DATA_DIR": tmp,
            "PIXELPLAY_SERVICE_TOKEN": token,
            "QDRANT_URL": "",
            "PIXELPLAY_LOG_LEVEL": "WARNING",
        }
        with running_service("services.search.app:app", env, timeout_s=120) as url:
            client = httpx.Client(base_url=url, headers={"X-Service-Token": token}, timeout=120)
            client.post("/index/ensure", json={"model_id": "bench:random", "dim": DIM}).raise_for_status()
            started = time.perf_counter()
            for start in range(0, len(songs), 1000):
                items = [
                    {"song": s.model_dump(mode="json"), "vector": v.tolist()}
                    for s, v in zip(songs[start : start + 1000], vectors[start : start + 1000], strict=True)
                ]
                client.post(
                    "/index/points", json={"model_id": "bench:random", "items": items}
                ).raise_for_status()
            index_s = time.perf_counter() - started
            points = client.get("/info").json()["points"]
            ids = np.array([s.track_id for s in songs])
            qs = unit_rows(rng, queries)
            timings, recalls = [], []
            for warm in qs[:20]:  # warm-up: page cache, connection
                client.post("/search/vector", json={"vector": warm.tolist(), "limit": K, "diversity": "off"})
            for q in qs:
                body = {"vector": q.tolist(), "limit": K, "diversity": "off"}
                t0 = time.perf_counter()
                answer = client.post("/search/vector", json=body)
                timings.append(time.perf_counter() - t0)
                answer.raise_for_status()
                got = [h["song"]["track_id"] for h in answer.json()["hits"]]
                exact = ids[np.argsort(-(vectors @ q))[:K]]
                recalls.append(len(set(got) & set(exact)) / K)
            p50, p99 = percentiles(timings)
            client.close()
    print(f"service: {points:,} songs x {DIM}-d indexed over HTTP in {index_s:.1f} s")
    print(
        f"service: /search/vector top-{K} with payloads, {queries} queries: "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, recall@{K} {np.mean(recalls):.3f}"
    )


def edge_benchmark(scales: list[int], queries: int, budget_s: float, seed: int) -> None:
    from services.search.storage.base import Conditions, Upsert, point_id
    from services.search.storage.edge import EdgeStore

    rng = np.random.default_rng(seed + 1)
    deadline = time.monotonic() + budget_s
    genres = ["pop", "rock", "rap", "edm", "latin", "r&b"]
    print("| points | insert s | p50 ms | p99 ms | filtered p50 ms | recall@10 |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        store = EdgeStore(Path(tmp), "bench")
        meta = store.create_version("bench:random", DIM)
        store.switch_alias(meta.version)
        all_vecs = np.empty((0, DIM), dtype=np.float32)
        for scale in scales:
            if time.monotonic() > deadline:
                print(f"| {scale:,} | skipped: time budget of {budget_s:.0f} s used up | | | | |")
                break
            started = time.perf_counter()
            new = unit_rows(rng, scale - len(all_vecs))
            base = len(all_vecs)
            for start in range(0, len(new), 5000):
                chunk = new[start : start + 5000]
                store.upsert(
                    None,
                    [
                        Upsert(
                            point_id(str(base + start + i)),
                            v.tolist(),
                            {
                                "track_id": str(base + start + i),
                                "genres": [genres[(base + start + i) % 6]],
                                "year": 1960 + (base + start + i) % 60,
                            },
                        )
                        for i, v in enumerate(chunk)
                    ],
                )
            insert_s = time.perf_counter() - started
            all_vecs = np.vstack([all_vecs, new])
            n_q = queries if scale <= 100_000 else max(50, queries // 10)
            qs = unit_rows(rng, n_q)
            timings, filtered, recalls = [], [], []
            cond = Conditions(match_any={"genres": ["rock", "pop"]}, ranges={"year": (1990, 2009)})
            for q in qs:
                t0 = time.perf_counter()
                hits = store.query(None, q.tolist(), None, K)
                timings.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                store.query(None, q.tolist(), cond, K)
                filtered.append(time.perf_counter() - t0)
                exact = set(np.argsort(-(all_vecs @ q))[:K].astype(str))
                recalls.append(len({h.payload["track_id"] for h in hits} & exact) / K)
                if time.monotonic() > deadline + 120:
                    break
            p50, p99 = percentiles(timings)
            f50, _ = percentiles(filtered)
            print(
                f"| {scale:,} | {insert_s:.1f} | {p50:.1f} | {p99:.1f} | {f50:.1f} | {np.mean(recalls):.3f} |"
                f" ({len(timings)} queries)"
            )
            sys.stdout.flush()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--scales", type=int, nargs="*", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--budget-s", type=float, default=1200, help="stop growing after this long")
    parser.add_argument("--skip-service", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores)")
    if not args.skip_service:
        service_benchmark(args.queries, args.seed)
    if args.scales:
        edge_benchmark(args.scales, args.queries, args.budget_s, args.seed)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
