"""End-to-end load on a running stack: signed-in virtual users searching.

Start the stack first (``./scripts/run.sh``, optionally with a ViT-B-32 random-weights checkpoint
made by ``python -m scripts.make_demo_model --arch ViT-B-32 var/vitb32-random``), then:

    python -m scripts.bench.load --users 16 --seconds 60
    python -m scripts.bench.load --users 16 64 --seconds 60

Each virtual user registers, signs in, then loops until the time is up: an image search, a hybrid
search (image + refine text), a "similar" search from a song it just got, and it saves each search
to its history, as the UI does. Load goes only to the service URLs in settings (localhost). Prints
requests/s, p50/p95/p99 per kind, the error count, and the peak RSS of each service process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import random
import statistics
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import httpx
import psutil
from PIL import Image

from services.common.settings import get_common_settings

SERVICES = {
    "encoder": "services.encoder.app",
    "search": "services.search.app",
    "auth": "services.auth.app",
    "ui": "services.ui.app",
    "enricher": "services.enricher.worker",
}
REFINE = ["energetic", "warm", "melancholic", "dreamy", "summer party", "rainy night"]


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)


def photo(seed: int) -> bytes:
    """A small random-colour JPEG, different per user so no layer can cache one answer."""
    rng = random.Random(seed)
    img = Image.new("RGB", (320, 240), tuple(rng.randrange(256) for _ in range(3)))
    for _ in range(12):
        x, y = rng.randrange(300), rng.randrange(220)
        img.paste(tuple(rng.randrange(256) for _ in range(3)), (x, y, x + 40, y + 30))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


async def timed(results: Results, kind: str, call) -> httpx.Response | None:
    start = time.perf_counter()
    try:
        response = await call
    except httpx.HTTPError as exc:
        results.errors.append(f"{kind}: {type(exc).__name__} {exc}")
        return None
    results.latencies[kind].append(time.perf_counter() - start)
    if response.status_code >= 400:
        results.errors.append(f"{kind}: HTTP {response.status_code} {response.text[:200]}")
        return None
    return response


async def sign_in(client: httpx.AsyncClient, auth_url: str) -> str:
    name = f"load_{uuid.uuid4().hex[:12]}"
    password = f"pw-{uuid.uuid4().hex}"
    body = {"username": name, "email": f"{name}@example.com", "password": password}
    (await client.post(f"{auth_url}/register", json=body)).raise_for_status()
    login = await client.post(f"{auth_url}/login", json={"login": name, "password": password})
    login.raise_for_status()
    return login.json()["token"]


async def virtual_user(
    n: int, token: str, deadline: float, results: Results, client: httpx.AsyncClient
) -> None:
    s = get_common_settings()
    bearer = {"Authorization": f"Bearer {token}"}
    image = photo(n)
    rng = random.Random(n)
    while time.monotonic() < deadline:
        files = {"file": ("photo.jpg", image, "image/jpeg")}
        page = await timed(results, "image", client.post(f"{s.search_url}/search/image", files=files))
        text = rng.choice(REFINE)
        form = {"text": text, "weight": "0.3"}
        files = {"file": ("photo.jpg", image, "image/jpeg")}
        await timed(results, "hybrid", client.post(f"{s.search_url}/search/image", files=files, data=form))
        hits = page.json()["hits"] if page is not None else []
        if hits:
            seed = rng.choice(hits)["song"]["track_id"]
            similar = client.post(f"{s.search_url}/search/similar", json={"track_id": seed})
            await timed(results, "similar", similar)
            entry = {
                "kind": "hybrid",
                "text": text,
                "weight": 0.3,
                "result_track_ids": [h["song"]["track_id"] for h in hits],
            }
            await timed(results, "history", client.post(f"{s.auth_url}/history", json=entry, headers=bearer))


def service_processes() -> dict[str, list[psutil.Process]]:
    found: dict[str, list[psutil.Process]] = defaultdict(list)
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        for name, module in SERVICES.items():
            if module in cmd and "scripts.bench" not in cmd:
                found[name].append(proc)
    return found


async def sample_rss(stop: asyncio.Event, peak: dict[str, int]) -> None:
    procs = service_processes()
    while not stop.is_set():
        for name, plist in procs.items():
            rss = 0
            for proc in plist:
                with contextlib.suppress(psutil.Error):  # a worker child may have exited
                    rss += proc.memory_info().rss
            peak[name] = max(peak.get(name, 0), rss)
        await asyncio.sleep(0.5)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run(users: int, seconds: float) -> dict:
    results = Results()
    peak: dict[str, int] = {}
    stop = asyncio.Event()
    # Expire idle connections before uvicorn closes them (5 s), or a reused one fails with ReadError.
    limits = httpx.Limits(
        max_connections=users * 2, max_keepalive_connections=users * 2, keepalive_expiry=2.0
    )
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        sampler = asyncio.create_task(sample_rss(stop, peak))
        # Sign-ups cost two bcrypt hashes each; do them before the clock starts.
        auth_url = get_common_settings().auth_url
        tokens = await asyncio.gather(*(sign_in(client, auth_url) for _ in range(users)))
        start = time.monotonic()
        deadline = start + seconds
        await asyncio.gather(*(virtual_user(i, t, deadline, results, client) for i, t in enumerate(tokens)))
        elapsed = time.monotonic() - start
        stop.set()
        await sampler
    total = sum(len(v) for v in results.latencies.values())
    report = {
        "users": users,
        "seconds": round(elapsed, 1),
        "requests": total,
        "rps": round(total / elapsed, 1),
        "errors": len(results.errors),
        "first_errors": results.errors[:5],
        "latency_ms": {
            kind: {
                "n": len(v),
                "p50": round(pct(v, 0.5)),
                "p95": round(pct(v, 0.95)),
                "p99": round(pct(v, 0.99)),
                "mean": round(statistics.fmean(v) * 1000),
            }
            for kind, v in sorted(results.latencies.items())
        },
        "peak_rss_mb": {name: round(rss / 2**20) for name, rss in sorted(peak.items())},
    }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    for users in args.users:
        report = asyncio.run(run(users, min(args.seconds, 600)))  # bounded: never more than 10 min
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
