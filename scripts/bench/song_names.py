"""Song-name search and fused "similar" latency over HTTP at catalog size (the default path:
the search service on its embedded qdrant-edge shard).

Starts the real search service in a temp folder, indexes every catalog song (random unit 512-d
description vectors; the audio vectors are the songs' real features), then times, in alternating
rounds so both sides see the same machine load:

- ``GET /songs/names`` with as-you-type queries built from the catalog (prefixes of title words,
  artist words, two-word title + artist, and unknown words), against the reference
  ``GET /songs/{track_id}`` (one payload read: the cheapest route that touches the index);
- ``POST /search/similar`` with the default audio mix (fused by a formula) against
  ``audio_weight=0`` (today's description-only recommend).

Nothing is asserted; the target for names is p95 <= 50 ms. Writes ``bench-results/song_names.json``
(``scripts/bench/results.py``), which ``python -m scripts.bench.report`` renders.

    python -m scripts.bench.song_names [--rounds 10] [--per-round 100]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import tempfile
import time

import httpx
import numpy as np

from scripts.bench.results import Run, ms, ratio_rounds

DIM = 512
UNKNOWN = ["zzqxv", "qwzkx", "xxjjq", "vvqzz"]
TARGET_P95_MS = 50.0


def typed_queries(songs: list, rng: random.Random, n: int) -> list[str]:
    """What people type: 2..6-letter prefixes of a title word, an artist word, title + artist."""
    out = []
    while len(out) < n:
        song = rng.choice(songs)
        title = re.findall(r"\w+", song.title) or ["x"]
        artist = re.findall(r"\w+", song.artist) or ["x"]
        kind = rng.random()
        if kind < 0.5:
            word = rng.choice(title)
            out.append(word[: rng.randint(2, max(2, min(6, len(word))))])
        elif kind < 0.75:
            out.append(" ".join(artist[:2]))
        elif kind < 0.95:
            out.append(f"{title[0]} {artist[0][:3]}")
        else:
            out.append(rng.choice(UNKNOWN))
    return out


def main() -> None:
    from services.common.catalog import load_catalog
    from services.common.settings import get_common_settings
    from tests.processes import running_service

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    run = Run("song_names", vars(args))
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores; shared with other work)")
    songs, _ = load_catalog(get_common_settings().catalog_path)
    rng = random.Random(args.seed)
    vectors = np.random.default_rng(args.seed).standard_normal((len(songs), DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    token = "bench-token"
    with tempfile.TemporaryDirectory() as tmp:
        env = {"PIXELPLAY_DATA_DIR": tmp, "PIXELPLAY_SERVICE_TOKEN": token, "QDRANT_URL": "",
               "PIXELPLAY_LOG_LEVEL": "WARNING"}  # fmt: skip
        with running_service("services.search.app:app", env, timeout_s=120) as url:
            client = httpx.Client(base_url=url, headers={"X-Service-Token": token}, timeout=120)
            client.post("/index/ensure", json={"model_id": "bench:random", "dim": DIM}).raise_for_status()
            started = time.perf_counter()
            for start in range(0, len(songs), 1000):
                part = zip(songs[start : start + 1000], vectors[start : start + 1000], strict=True)
                items = [{"song": s.payload(), "vector": v.tolist()} for s, v in part]
                client.post(
                    "/index/points", json={"model_id": "bench:random", "items": items}
                ).raise_for_status()
            points = client.get("/info").json()["points"]
            index_s = time.perf_counter() - started
            print(f"{points:,} songs indexed over HTTP in {index_s:.1f} s")

            timings: dict[str, list[float]] = {"names": [], "song": [], "fused": [], "description": []}
            empty = matched = 0

            def timed(side: str, method: str, path: str, **kwargs) -> httpx.Response:
                t0 = time.perf_counter()
                answer = client.request(method, path, **kwargs)
                timings[side].append(time.perf_counter() - t0)
                answer.raise_for_status()
                return answer

            for warm in typed_queries(songs, rng, 20):  # connection, page cache
                client.get("/songs/names", params={"q": warm})
            for _ in range(args.rounds):
                for q in typed_queries(songs, rng, args.per_round):
                    found = timed("names", "GET", "/songs/names", params={"q": q}).json()["matches"]
                    empty, matched = empty + (not found), matched + bool(found)
                for song in rng.sample(songs, args.per_round):
                    timed("song", "GET", f"/songs/{song.track_id}")
                for song in rng.sample(songs, args.per_round // 5):
                    body = {"track_id": song.track_id, "limit": 12}
                    timed("fused", "POST", "/search/similar", json=body)
                    timed("description", "POST", "/search/similar", json=body | {"audio_weight": 0.0})
            client.close()

    latency = {side: ms(t) for side, t in timings.items()}
    names, song = latency["names"], latency["song"]
    figures = {
        "songs": points,
        "index_s": round(index_s, 1),
        "queries": {"total": len(timings["names"]), "with_matches": matched, "empty": empty},
        "latency": latency,
        "names_p95_over_song_p95": round(names["p95_ms"] / song["p95_ms"], 2),
        # Both sides of each pair ran in the same rounds, so the per-round ratio of medians is fair.
        "names_over_song": ratio_rounds(timings["names"], timings["song"], args.rounds),
        "fused_over_description": ratio_rounds(timings["fused"], timings["description"], args.rounds),
        "target_p95_ms": TARGET_P95_MS,
        "target_met": names["p95_ms"] <= TARGET_P95_MS,
    }

    def line(side: str) -> str:
        t = latency[side]
        return f"p50 {t['p50_ms']:.1f} ms, p95 {t['p95_ms']:.1f} ms, p99 {t['p99_ms']:.1f} ms"

    print(f"/songs/names ({len(timings['names'])} queries, {matched} with matches, {empty} empty): "
          + line("names"))  # fmt: skip
    print(f"/songs/{{id}} reference ({len(timings['song'])} reads): {line('song')}")
    print(
        f"names p95 / reference p95: {figures['names_p95_over_song_p95']:.2f}; "
        f"target p95 <= {TARGET_P95_MS:.0f} ms: {'met' if figures['target_met'] else 'NOT met'}"
    )
    print(f"/search/similar fused (default mix, {len(timings['fused'])} seeds): {line('fused')}")
    print(f"/search/similar description only: {line('description')}")
    print(f"fused / description-only, median of rounds: {figures['fused_over_description']['median']:.2f}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    print(f"wrote {run.save(figures, {side + '_s': t for side, t in timings.items()})}")


if __name__ == "__main__":
    main()
