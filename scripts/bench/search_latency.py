"""Benchmark: search over HTTP at catalog size, on the service's default path.

The real search service (uvicorn, embedded store) indexes the whole catalog (real payloads,
structured song vectors from ``scripts.bench.song_vectors``) through ``/index/points``, builds its
vector index (``/index/versions/<v>/optimize``), then answers ``POST /search/vector`` with the
default page: 20 songs, artist cap, explanations (the phrase vectors are given to the service as
its phrase bank, so no encoder runs). Each query is sent alternately on the default path and with
``diversity: off`` (the plain top 20, no explanations), so their ratio is measured under the same
load. Recall@10 is the plain ranking's top 10 against numpy's exact top 10 over every song vector (the
artist cap reorders on purpose, so it is not a recall).
Writes ``bench-results/search_latency.json``. Nothing is asserted.

    python -m scripts.bench.search_latency [--queries 500]

Sizes past the catalog are ``scripts.bench.search_scale``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from scripts.bench.results import Run, ms, ratio_rounds
from scripts.bench.song_vectors import DIM, queries, song_set
from services.common.catalog import load_catalog
from services.common.settings import get_common_settings
from services.search.explain import PhraseBank

K = 10
ROUNDS = 5
MODEL_ID = "bench:structured"


def main() -> None:
    from tests.processes import running_service

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    run = Run("search_latency", {"queries": args.queries, "dim": DIM, "k": K, "page": 20, "rounds": ROUNDS})
    songs, _ = load_catalog(get_common_settings().catalog_path)
    synthetic = song_set(len(songs))
    vectors = np.asarray(synthetic.vectors)
    qs = queries(synthetic, args.queries)
    token = "bench-token"
    with tempfile.TemporaryDirectory() as tmp:
        PhraseBank(MODEL_ID, synthetic.phrase_vectors).save(Path(tmp) / "phrase-vectors")
        env = {
            "PIXELPLAY_DATA_DIR": tmp,
            "PIXELPLAY_SERVICE_TOKEN": token,
            "QDRANT_URL": "",
            # No encoder: the phrase bank above already holds every phrase.
            "PIXELPLAY_ENCODER_URL": "http://127.0.0.1:9",
            "PIXELPLAY_LOG_LEVEL": "WARNING",
        }
        with running_service("services.search.app:app", env, timeout_s=120) as url:
            client = httpx.Client(base_url=url, headers={"X-Service-Token": token}, timeout=600)
            version = client.post("/index/ensure", json={"model_id": MODEL_ID, "dim": DIM}).json()["version"]
            started = time.perf_counter()
            for start in range(0, len(songs), 1000):
                items = [
                    {"song": s.payload(), "vector": v.tolist()}
                    for s, v in zip(songs[start : start + 1000], vectors[start : start + 1000], strict=True)
                ]
                client.post("/index/points", json={"model_id": MODEL_ID, "items": items}).raise_for_status()
            upsert_s = time.perf_counter() - started
            started = time.perf_counter()
            client.post(f"/index/versions/{version}/optimize").raise_for_status()
            optimize_s = time.perf_counter() - started
            points = client.get("/info").json()["points"]
            ids = np.array([s.track_id for s in songs])
            for warm in qs[:20]:  # page cache, connection, phrase bank
                client.post("/search/vector", json={"vector": warm.tolist()}).raise_for_status()
            default, plain, recalls, explained = [], [], [], 0
            for q in qs:
                body = {"vector": q.tolist()}
                t0 = time.perf_counter()
                answer = client.post("/search/vector", json=body)
                t1 = time.perf_counter()
                top = client.post("/search/vector", json={**body, "diversity": "off"})
                plain.append(time.perf_counter() - t1)
                default.append(t1 - t0)
                answer.raise_for_status()
                explained += all(h["explanation"] for h in answer.json()["hits"])
                # The index's recall: the plain ranking (the artist cap reorders on purpose).
                exact = set(ids[np.argsort(-(vectors @ q))[:K]])
                recalls.append(len({h["song"]["track_id"] for h in top.json()["hits"][:K]} & exact) / K)
            client.close()
    figures = {
        "songs": points,
        "upsert_s": round(upsert_s, 1),
        "optimize_s": round(optimize_s, 1),
        "default_page": ms(default),
        "plain_page": ms(plain),
        "default_over_plain": ratio_rounds(default, plain, ROUNDS),
        "recall_at_10": round(float(np.mean(recalls)), 4),
        "pages_with_explanations": round(explained / len(qs), 3),
    }
    path = run.save(
        figures, {"default_s": [round(x, 6) for x in default], "plain_s": [round(x, 6) for x in plain]}
    )
    print(figures)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
