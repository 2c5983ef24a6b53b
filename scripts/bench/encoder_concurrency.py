"""Encoder under 16 concurrent uploads: micro-batched service vs one-request-at-a-time server.

    PYTHONPATH=. python -m scripts.bench.encoder_concurrency [--rounds 4] [--clients 16] [--quantize none]

Starts the real encoder (uvicorn, ViT-B-32 random weights: "random weights, same cost") three
times, one after the other, and has ``--clients`` concurrent clients each upload ``--rounds``
photos back to back:
  A. one request at a time, plain open_clip (torch runtime, batch_max_size=1) — the baseline;
  B. one request at a time, ONNX Runtime (batch_max_size=1) — shows what batching alone adds;
  C. the service defaults: ONNX Runtime + micro-batching (batch_max_size=16).
B and C use the default quantisation "auto" (int8 image tower on a VNNI CPU, else fp32) unless
``--quantize`` says otherwise; each server's runtime, as its /info reports it, is printed.
Prints images/s, p50/p99 latency and the ratios C/A (target >= 2) and C/B.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx
import numpy as np

from scripts.bench.encoder_common import BENCH_DIR, machine_line, p, photo_bytes, vit_b32_checkpoint
from tests.processes import running_service

CONFIGS = {
    "A torch, 1 at a time": {"PIXELPLAY_ENCODER_RUNTIME": "torch", "PIXELPLAY_ENCODER_BATCH_MAX_SIZE": "1"},
    "B onnx, 1 at a time": {"PIXELPLAY_ENCODER_RUNTIME": "onnx", "PIXELPLAY_ENCODER_BATCH_MAX_SIZE": "1"},
    "C onnx, micro-batched": {"PIXELPLAY_ENCODER_RUNTIME": "onnx", "PIXELPLAY_ENCODER_BATCH_MAX_SIZE": "16"},
}


async def load(url: str, photos: list[bytes], clients: int, rounds: int) -> tuple[float, list[float]]:
    """(wall seconds, per-request latencies) for clients x rounds uploads."""
    latencies: list[float] = []

    async def client(index: int, http: httpx.AsyncClient) -> None:
        for r in range(rounds):
            data = photos[(index + r * clients) % len(photos)]
            start = time.perf_counter()
            response = await http.post("/encode/image", files={"file": ("photo.jpg", data, "image/jpeg")})
            response.raise_for_status()
            latencies.append(time.perf_counter() - start)

    async with httpx.AsyncClient(base_url=url, timeout=300, limits=httpx.Limits(max_connections=64)) as http:
        await http.post("/encode/image", files={"file": ("w.jpg", photos[0], "image/jpeg")})  # warm-up
        start = time.perf_counter()
        await asyncio.gather(*(client(i, http) for i in range(clients)))
        return time.perf_counter() - start, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--quantize", choices=["auto", "none", "int8"], default="auto", help="for B and C")
    args = parser.parse_args()

    checkpoint = vit_b32_checkpoint()
    sizes = [(1024, 768), (768, 1024), (640, 480), (1280, 720)]
    photos = [photo_bytes(i, sizes[i % len(sizes)]) for i in range(16)]
    base_env = {
        "PIXELPLAY_ENCODER_CLIP_CHECKPOINT": str(checkpoint),
        "PIXELPLAY_DATA_DIR": str(BENCH_DIR / "var"),
        "PIXELPLAY_ENCODER_TORCH_THREADS": "2",
        "PIXELPLAY_LOG_LEVEL": "WARNING",
        "PIXELPLAY_ENCODER_MAX_QUEUE": "1024",
        "UVICORN_LOG_LEVEL": "warning",  # no access log lines in the benchmark output
        "PIXELPLAY_ENCODER_QUANTIZE": args.quantize,
    }
    results = {}
    for name, env in CONFIGS.items():
        service_env = {**base_env, **env}
        with running_service("services.encoder.app:app", service_env, "/readyz", timeout_s=600) as url:
            runtime = httpx.get(f"{url}/info").json()["runtime"]
            wall, latencies = asyncio.run(load(url, photos, args.clients, args.rounds))
        results[name] = (len(latencies) / wall, latencies, runtime)

    print(f"# encoder_concurrency — ViT-B-32, random weights, same cost; {machine_line()}")
    print(f"{args.clients} concurrent clients x {args.rounds} uploads each (JPEG 640x480..1280x720)")
    for name, (rate, latencies, runtime) in results.items():
        p50, p99 = p(latencies, 50), p(latencies, 99)
        print(f"{name:24s} {rate:6.2f} images/s  p50 {p50:6.0f} ms  p99 {p99:6.0f} ms  runtime {runtime}")
    a, b, c = (results[name][0] for name in CONFIGS)
    print(f"RATIO C/A (micro-batched onnx vs one-at-a-time plain open_clip): {c / a:.2f}x (target >= 2)")
    print(f"ratio C/B (micro-batching alone, both onnx): {c / b:.2f}x; B/A (onnx alone): {b / a:.2f}x")
    print(f"mean latency C: {np.mean(results[list(CONFIGS)[2]][1]) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
