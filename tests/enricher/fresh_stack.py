"""A fresh PixelPlay stack with nothing enriched: encoder (tiny real CLIP), search on Redis, a real
index of the first N catalog songs, plus helpers to read the enricher's Redis queues.

Shared by the fresh-stack test and ``scripts/bench/first_search_art.py``. Only the outside world is
faked (the fake iTunes + oEmbed server); workers are started by the caller, with the rate limits at
their real defaults unless the caller overrides them.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from services.common.clients.search import SearchClient
from services.common.contracts.songs import Song
from services.common.enrich_requests import QueueNames, queue_names
from tests.enricher.fake_itunes import FakeItunes
from tests.processes import ROOT, indexed_search, service_env

TOKEN = "fresh-stack-token"


@dataclass
class FreshStack:
    search: SearchClient
    env: dict[str, str]  # for workers and the batch job: Redis, queue, search, fakes
    queues: QueueNames
    redis: redis.Redis

    def queued(self, queue: str) -> list[tuple[str, str]]:
        """(task name, track id) of the tasks waiting in ``queue``, next to run first."""
        # Kombu's Redis transport LPUSHes and BRPOPs: the oldest message is at the right end.
        raw = self.redis.lrange(queue, 0, -1)
        tasks = []
        for message in reversed(raw):
            envelope = json.loads(message)
            args = json.loads(base64.b64decode(envelope["body"]))[0]
            tasks.append((envelope["headers"]["task"], args[0]))
        return tasks

    def songs(self, track_ids: list[str]) -> list[Song]:
        out: list[Song] = []
        for start in range(0, len(track_ids), 100):
            out.extend(self.search.songs(track_ids[start : start + 100]))
        return out

    def run_batch(self, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess:
        """``python -m scripts.enrich_all ARGS`` against this stack; output captured."""
        return subprocess.run(
            [sys.executable, "-m", "scripts.enrich_all", *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **self.env},
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )


@contextmanager
def fresh_stack(
    base: Path,
    model_dir: Path,
    redis_url: str,
    fake: FakeItunes,
    songs: int,
    *,
    enrich_on_view: bool = True,
) -> Iterator[FreshStack]:
    """Encoder + search (queueing songs on screen when ``enrich_on_view``) + an index of ``songs``."""
    env = service_env(base, model_dir, TOKEN) | {
        "REDIS_URL": redis_url,
        "PIXELPLAY_ENRICHER_QUEUE": f"fresh-{uuid.uuid4().hex[:8]}",
        "PIXELPLAY_SEARCH_ENRICH_ON_VIEW": str(enrich_on_view).lower(),
        "PIXELPLAY_ENRICHER_ITUNES_URL": fake.url,
        "PIXELPLAY_ENRICHER_SPOTIFY_OEMBED_URL": fake.oembed_url,
    }
    with ExitStack() as stack:
        indexed_search(stack, env, songs, timeout_s=600, quiet=True)
        client = stack.enter_context(SearchClient(env["PIXELPLAY_SEARCH_URL"], token=TOKEN))
        connection = redis.Redis.from_url(redis_url)
        stack.callback(connection.close)
        yield FreshStack(client, env, queue_names(env["PIXELPLAY_ENRICHER_QUEUE"]), connection)
