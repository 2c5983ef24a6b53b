"""Chaos run: the whole embedded stack under steady load while its parts fail, one after another.

Signed-in users search with a photo and save each search to their history, through the UI's own
backend calls; every failure is turned into the sentence the UI would show (``plain_message``). An
enrichment batch runs meanwhile against a fake iTunes on 127.0.0.1. In turn: ``kill -9`` of the
encoder, search, auth and the enrichment worker (mid-batch), a Postgres restart (fast shutdown; the
run command starts it again), a Redis ``kill -9`` (the run command restarts it; the append-only file
gives the queue back) and, as root, a full disk under ``var/`` (a tmpfs with a size limit).

For each fault: seconds until every kind of request succeeds again, the failed requests and what
users saw. At the end: history entries acknowledged but missing, and queued songs never enriched.

    python -m tests.stack.chaos_harness [--users 4] [--songs 300] [--enrich 20]   # prints the report
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import redis
from PIL import Image

from scripts.backup_archive import ENGINES_FILE
from services.common.contracts.auth import HistoryIn
from services.enricher.settings import EnricherSettings
from services.ui.context import Context
from services.ui.errors import plain_message
from services.ui.images import Upload
from services.ui.settings import UISettings
from tests.enricher.fake_itunes import FakeItunesServer, Step
from tests.processes import ROOT
from tests.run_stack import TOKEN, run_command, stack_env, wait_for_line

SETTLE_S = 3.0  # load kept running after everything is ready again, before the next fault
PHASE_LIMIT_S = 90.0
QUEUE = EnricherSettings.model_fields["queue"].default


@dataclass
class Outcome:
    started: float
    op: str  # "search" or "history"
    ok: bool
    message: str = ""


@dataclass
class FaultReport:
    fault: str
    recovery_s: float | None  # None: not recovered within the phase
    requests: int
    failed: int
    seen: Counter = field(default_factory=Counter)


@dataclass
class ChaosReport:
    faults: list[FaultReport]
    history_acked: int
    history_lost: int
    history_reported: int  # saves that failed and were told to the user
    enrich_queued: int
    enrich_lost: int
    queued_at_worker_kill: int
    queue_before_redis_kill: int
    queue_after_redis_restart: int

    def markdown(self) -> str:
        lines = [
            "| fault | seconds to recovery | requests | failed | what users saw |",
            "| --- | --- | --- | --- | --- |",
        ]
        for f in self.faults:
            seen = "; ".join(f'{n}x "{m}"' for m, n in f.seen.most_common()) or "nothing (no failure)"
            rec = "not recovered" if f.recovery_s is None else f"{f.recovery_s:.1f}"
            lines.append(f"| {f.fault} | {rec} | {f.requests} | {f.failed} | {seen} |")
        lines += [
            "",
            f"- history: {self.history_acked} saves acknowledged, {self.history_lost} of them missing at the"
            f" end; {self.history_reported} saves failed and were reported to the user",
            f"- enrichment: {self.enrich_queued} songs queued,"
            f" {self.enrich_lost} without a result at the end",
            f"- enricher worker kill -9: {self.queued_at_worker_kill} tasks still queued behind the"
            " one it was running",
            f"- Redis kill -9: {self.queue_before_redis_kill} tasks queued before,"
            f" {self.queue_after_redis_restart} as soon as it answered again",
        ]
        return "\n".join(lines)


def photo(i: int) -> Upload:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (i * 37 % 256, i * 91 % 256, 120)).save(buf, "PNG")
    return Upload(buf.getvalue(), "photo.png", "image/png")


class Load:
    """Signed-in users in threads: photo search, then save it to history, again and again."""

    def __init__(self, settings: UISettings, users: int, pause_s: float = 0.3):
        self.settings = settings
        self.users = users
        self.pause_s = pause_s
        self.outcomes: list[Outcome] = []
        self.acked: list[tuple[str, str]] = []  # (token, history entry id)
        self.tokens: list[str] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def sign_in(self) -> None:
        ctx = Context.from_settings(self.settings)
        for i in range(self.users):
            ctx.auth.register(f"chaos{i}", f"chaos{i}@example.org", "chaos passphrase 2026")
            self.tokens.append(ctx.auth.login(f"chaos{i}", "chaos passphrase 2026").token)
        ctx.close()

    def _user(self, token: str, seed: int) -> None:
        ctx = Context.from_settings(self.settings)
        i = seed
        while not self._stop.is_set():
            i += self.users
            started = time.monotonic()
            try:
                upload = photo(i)
                found = ctx.search.search_image(
                    upload.data, upload.filename, upload.content_type, weight=0.5, limit=10
                )
            except Exception as exc:  # noqa: BLE001 - every failure is what a user would see
                self.outcomes.append(Outcome(started, "search", False, plain_message(exc)))
                self._stop.wait(self.pause_s)
                continue
            self.outcomes.append(Outcome(started, "search", True))
            entry = HistoryIn(kind="image", result_track_ids=[h.song.track_id for h in found.hits])
            started = time.monotonic()
            try:
                saved = ctx.auth.add_history(token, entry)
            except Exception as exc:  # noqa: BLE001
                self.outcomes.append(Outcome(started, "history", False, plain_message(exc)))
            else:
                self.acked.append((token, str(saved.id)))
                self.outcomes.append(Outcome(started, "history", True))
            self._stop.wait(self.pause_s)
        ctx.close()

    def start(self) -> None:
        for n, token in enumerate(self.tokens):
            thread = threading.Thread(target=self._user, args=(token, n), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    def since(self, t0: float) -> list[Outcome]:
        return [o for o in list(self.outcomes) if o.started >= t0]


def recovery(outcomes: list[Outcome], t0: float) -> float | None:
    """Seconds from the fault to the first success of each kind of request after its last failure
    (the slowest kind); 0 when nothing failed, None when a kind never succeeded again."""
    worst = 0.0
    for op in ("search", "history"):
        mine = [o for o in outcomes if o.op == op]
        failures = [o.started for o in mine if not o.ok]
        if not failures:
            continue
        after = [o.started for o in mine if o.ok and o.started > failures[-1]]
        if not after:
            return None
        worst = max(worst, after[0] - t0)
    return worst


class Stack:
    """Faults for a running run command: its children, found by command line."""

    def __init__(self, proc: subprocess.Popen, data_dir: Path):
        self.proc = proc
        self.data_dir = data_dir

    def children(self, match: Callable[[list[str]], bool]) -> list[psutil.Process]:
        found = []
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                if match(child.cmdline()):
                    found.append(child)
            except psutil.NoSuchProcess:
                pass
        return found

    def kill_service(self, app: str) -> None:
        for p in self.children(lambda c: f"services.{app}.app:app" in c):
            p.kill()

    def kill_worker(self) -> None:
        # The worker's main process and its pool child: the whole worker is gone at once.
        for p in self.children(lambda c: "celery" in " ".join(c) and "worker" in c):
            p.kill()

    def kill_redis(self) -> None:
        for p in self.children(lambda c: bool(c) and c[0].endswith("redis-server")):
            p.kill()

    def stop_postgres(self) -> None:
        pid = int((self.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGINT)  # Postgres' "fast shutdown", what pg_ctl stop -m fast sends

    def urls(self) -> dict[str, str]:
        import json

        return json.loads((self.data_dir / ENGINES_FILE).read_text())

    def all_ready(self, settings: UISettings) -> bool:
        urls = (settings.encoder_url, settings.search_url, settings.auth_url)
        try:
            return all(httpx.get(f"{u}/readyz", timeout=2).status_code == 200 for u in urls)
        except httpx.HTTPError:
            return False


@contextmanager
def disk_full(folder: Path) -> Iterator[None]:
    """Fill the filesystem holding ``folder`` to the last byte; free it on exit."""
    filler = folder / "chaos-filler"
    try:
        with filler.open("wb") as f:
            block = b"\0" * (1 << 20)
            while True:
                try:
                    f.write(block)
                    f.flush()
                except OSError:
                    break
        yield
    finally:
        filler.unlink(missing_ok=True)


def queue_length(redis_url: str, queue: str) -> int:
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        return int(client.llen(queue))
    finally:
        client.close()


def _queue_once_back(redis_url: str, timeout_s: float = 60) -> int:
    """The queue's length as soon as the restarted Redis answers (before the worker reconnects)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return queue_length(redis_url, QUEUE)
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def mount_quota(folder: Path, size_mb: int) -> bool:
    """A tmpfs with a size limit at ``folder`` (root only); False when it cannot be mounted."""
    if os.geteuid() != 0:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(folder)])
    if mounted.returncode != 0:
        return False
    os.chmod(folder, 0o755)  # pgserver's own user must traverse it
    return True


def run_chaos(tiny_model_dir: Path, users: int = 4, songs: int = 300, enrich: int = 20) -> ChaosReport:
    with stack_env(tiny_model_dir) as env, FakeItunesServer() as itunes:
        var = Path(env["PIXELPLAY_DATA_DIR"])
        quota = mount_quota(var, 400)
        itunes.plan("", [Step(fixture="no_results", delay_s=0.5)])  # a lookup takes a while
        env.update(
            PIXELPLAY_ENRICHER_ITUNES_URL=itunes.url,
            PIXELPLAY_ENRICHER_ITUNES_CALLS_PER_MINUTE="6000",
            # Searches queue Spotify art for the songs they show, ahead of the batch: the fake
            # answers those too, so the worker never waits on the real (unreachable) Spotify.
            PIXELPLAY_ENRICHER_SPOTIFY_OEMBED_URL=itunes.oembed_url,
            PIXELPLAY_ENRICHER_SPOTIFY_OEMBED_CALLS_PER_MINUTE="6000",
            # A task held by a worker that was killed goes back to the queue after this long.
            PIXELPLAY_ENRICHER_VISIBILITY_TIMEOUT_S="10",
            PIXELPLAY_ENRICHER_RESTORE_INTERVAL_S="2",
        )
        try:
            # No UI process: the load calls what the UI calls. With the enrichment worker.
            with run_command(env, parts=("--no-ui",), songs=songs) as (proc, out):
                wait_for_line(out, "Ctrl-C stops everything", proc, timeout_s=300)
                return _faults(Stack(proc, var), env, users, enrich, quota)
        finally:
            if quota:
                subprocess.run(["umount", "-l", str(var)])


def _faults(stack: Stack, env: dict[str, str], users: int, enrich: int, quota: bool) -> ChaosReport:
    engines = stack.urls()
    settings = UISettings(
        encoder_url=env["PIXELPLAY_ENCODER_URL"],
        search_url=env["PIXELPLAY_SEARCH_URL"],
        auth_url=env["PIXELPLAY_AUTH_URL"],
    )
    job_env = {**env, **engines}

    def queue_batch(first_n: int) -> int:
        """Queue lookups for the first ``first_n`` songs not enriched yet (those already queued are
        not queued twice); the queue's length after."""
        queued = subprocess.run(
            [sys.executable, "-m", "scripts.enrich_all", "--limit", str(first_n), "--no-wait"],
            cwd=ROOT, env=job_env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if queued.returncode != 0:
            raise RuntimeError(f"enrich_all failed: {queued.stderr}")
        time.sleep(1.0)  # the worker is busy with the first lookups: mid-batch
        return queue_length(engines["REDIS_URL"], QUEUE)

    load = Load(settings, users)
    load.sign_in()
    load.start()
    faults: list[tuple[str, Callable[[], None]]] = [
        ("kill -9 encoder", lambda: stack.kill_service("encoder")),
        ("kill -9 search", lambda: stack.kill_service("search")),
        ("kill -9 auth", lambda: stack.kill_service("auth")),
        ("kill -9 enricher worker (mid-batch)", stack.kill_worker),
        ("restart Postgres", stack.stop_postgres),
        ("kill -9 Redis (restarted)", stack.kill_redis),
    ]
    reports = []
    queued_at_worker_kill = before_redis = after_redis = -1
    try:
        time.sleep(SETTLE_S)
        for name, inject in faults:
            if name.startswith("kill -9 enricher"):
                queued_at_worker_kill = queue_batch(enrich)
            if name.startswith("kill -9 Redis"):
                before_redis = queue_batch(2 * enrich)
            t0 = time.monotonic()
            inject()
            if name.startswith("kill -9 Redis"):
                after_redis = _queue_once_back(engines["REDIS_URL"])
            _wait_recovered(stack, settings, t0)
            reports.append(_report(name, load.since(t0), t0))
        if quota:
            t0 = time.monotonic()
            with disk_full(stack.data_dir):
                time.sleep(8)
            _wait_recovered(stack, settings, t0)
            name = "disk under var/ full for 8 s (tmpfs quota), then freed"
            reports.append(_report(name, load.since(t0), t0))
    finally:
        load.stop()
    lost_history = _missing_history(settings, load)
    enrich_lost = _wait_enriched(settings, 2 * enrich)
    return ChaosReport(
        faults=reports,
        history_acked=len(load.acked),
        history_lost=lost_history,
        history_reported=sum(1 for o in load.outcomes if o.op == "history" and not o.ok),
        enrich_queued=2 * enrich,
        enrich_lost=enrich_lost,
        queued_at_worker_kill=queued_at_worker_kill,
        queue_before_redis_kill=before_redis,
        queue_after_redis_restart=after_redis,
    )


def _wait_recovered(stack: Stack, settings: UISettings, t0: float) -> None:
    time.sleep(1.0)  # let the run command notice
    deadline = t0 + PHASE_LIMIT_S
    while not stack.all_ready(settings) and time.monotonic() < deadline:
        time.sleep(0.3)
    time.sleep(SETTLE_S)


def _report(name: str, outcomes: list[Outcome], t0: float) -> FaultReport:
    failed = [o for o in outcomes if not o.ok]
    seen = Counter(o.message for o in failed)
    return FaultReport(name, recovery(outcomes, t0), len(outcomes), len(failed), seen)


def _missing_history(settings: UISettings, load: Load) -> int:
    ctx = Context.from_settings(settings)
    stored: set[str] = set()
    for token in load.tokens:
        offset = 0
        while items := ctx.auth.history(token, limit=100, offset=offset).items:
            stored.update(str(item.id) for item in items)
            offset += len(items)
    ctx.close()
    return sum(1 for _, entry_id in load.acked if entry_id not in stored)


def _wait_enriched(settings: UISettings, queued: int, timeout_s: float = 120) -> int:
    """Songs queued for enrichment still without a result after the queue drained (or the timeout)."""
    headers = {"X-Service-Token": TOKEN}
    deadline = time.monotonic() + timeout_s
    while True:
        stats = httpx.get(f"{settings.search_url}/stats/enrichment", headers=headers, timeout=10).json()
        done = stats["ok"] + stats["not_found"] + stats["failed"]
        if done >= queued or time.monotonic() > deadline:
            return max(0, queued - done)
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--songs", type=int, default=300)
    parser.add_argument("--enrich", type=int, default=20, help="songs queued before each of two faults")
    args = parser.parse_args()
    from scripts.make_demo_model import make_tiny_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        model = make_tiny_checkpoint(Path(tmp) / "model")
        report = run_chaos(model, args.users, args.songs, args.enrich)
    print(report.markdown())


if __name__ == "__main__":
    main()
