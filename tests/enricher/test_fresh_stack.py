"""The first photo search on a fresh stack (nothing enriched, a 1,000-song backlog queued) with both
rate limits at their real defaults: the songs on screen go first, get art within seconds, the limits
hold, and a song shown twice is fetched once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.enrich_requests import ART_TASK, ENRICH_TASK
from services.enricher.deps import make_limiter
from services.enricher.matching import search_term
from services.enricher.settings import EnricherSettings
from tests.enricher.fake_itunes import FakeItunes, FakeItunesServer, spotify_thumbnail
from tests.enricher.fresh_stack import FreshStack, fresh_stack
from tests.enricher.stack import wait_for, workers
from tests.enricher.test_rate_limit import max_in_window
from tests.photos import photo_png

pytestmark = pytest.mark.slow

BACKLOG = 1000
PAGE = 12
DEFAULTS = EnricherSettings()  # the real defaults the workers run with (nothing overridden below)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeItunes]:
    with FakeItunesServer() as server:
        yield server


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, redis_url: str, fake: FakeItunes
) -> Iterator[FreshStack]:
    base = tmp_path_factory.mktemp("fresh")
    with fresh_stack(base, tiny_model_dir, redis_url, fake, BACKLOG + 60) as ready:
        yield ready


class GrantLog:
    """Every rate-limit grant of both APIs while it is open, read from the limiters' Redis logs.

    Each log keeps about one window (2 s at the least), so reading every 0.2 s misses none.
    """

    def __init__(self, stack: FreshStack):
        settings = EnricherSettings(queue=stack.env["PIXELPLAY_ENRICHER_QUEUE"])
        self._itunes = make_limiter(settings, stack.redis, "itunes")
        self._oembed = make_limiter(settings, stack.redis, "spotify_oembed")
        self.itunes: dict[str, float] = {}
        self.oembed: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _read(self) -> None:
        self.itunes.update(self._itunes.granted_times())
        self.oembed.update(self._oembed.granted_times())

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._read()

    def __enter__(self) -> GrantLog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._read()


def visible_ids(stack: FreshStack, kind: str = "sunset") -> list[str]:
    page = stack.search.search_image(photo_png(kind), "photo.png", "image/png", limit=PAGE)
    return [hit.song.track_id for hit in page.hits]


def test_first_search_goes_first_gets_art_keeps_the_limits_and_fetches_once(
    stack: FreshStack, fake: FakeItunes, tmp_path: Path
) -> None:
    # The batch job queues the backlog, most popular first (no worker runs yet).
    batch = stack.run_batch("--limit", str(BACKLOG), "--no-wait")
    assert batch.returncode == 0, batch.stdout + batch.stderr
    assert f"{BACKLOG} songs to enrich, most popular first: {BACKLOG} queued now" in batch.stdout
    backlog = stack.queued(stack.queues.backlog)
    assert len(backlog) == BACKLOG and {name for name, _ in backlog} == {ENRICH_TASK}
    popularity = {s.track_id: s.popularity or 0 for s in stack.songs([t for _, t in backlog])}
    in_order = [popularity[t] for _, t in backlog]
    assert in_order == sorted(in_order, reverse=True)

    # 1. The first photo search queues exactly the songs on screen, ahead of the backlog.
    shown = visible_ids(stack)
    assert len(shown) == PAGE
    wait_for(lambda: len(stack.queued(stack.queues.visible)) == PAGE, 10, "the on-screen lookups")
    assert stack.queued(stack.queues.art) == [(ART_TASK, t) for t in shown]
    assert stack.queued(stack.queues.visible) == [(ENRICH_TASK, t) for t in shown]
    assert len(stack.queued(stack.queues.backlog)) == BACKLOG

    # 4 (first half). The same page shown again queues nothing more.
    assert visible_ids(stack) == shown
    time.sleep(1.0)  # search queues after answering: give a duplicate every chance to appear
    assert len(stack.queued(stack.queues.art)) == PAGE and len(stack.queued(stack.queues.visible)) == PAGE

    # 2. A worker starts (default limits; one process keeps the order exact): every card on screen gets art.
    with workers(1, stack.env, tmp_path / "logs"), GrantLog(stack) as grants:
        started = time.monotonic()

        def with_art() -> list[dict]:
            songs = stack.songs(shown)
            return [s for s in songs if s.spotify_art_status == "ok" or s.art_url]

        wait_for(lambda: len(with_art()) == PAGE, 60, "art on every card on screen", poll_s=0.2)
        art_after_s = time.monotonic() - started
        assert {s.track_id: s.spotify_art_url for s in with_art()} == {t: spotify_thumbnail(t) for t in shown}
        # The oEmbed calls of the page came before any other song's.
        assert [c.term for c in fake.oembed_calls[:PAGE]] == shown

        # 3. Let the backlog run behind the page's lookups, then check both limits on the fakes' clock.
        wait_for(lambda: len(fake.calls) >= PAGE + 3, 120, "the page's lookups and some backlog", poll_s=0.5)
    # The limits are checked where the limiter enforces them, at grant time on Redis' clock: the
    # fake's arrival times add each request's own latency, which under load can bunch two calls
    # granted a full window apart. Every call the fake saw took a grant first.
    itunes_at, oembed_at = sorted(grants.itunes.values()), sorted(grants.oembed.values())
    assert len(itunes_at) >= len(fake.calls) and len(oembed_at) >= len(fake.oembed_calls)
    itunes_cap = DEFAULTS.itunes_calls_per_minute * DEFAULTS.itunes_rate_window_s / 60
    oembed_cap = DEFAULTS.spotify_oembed_calls_per_minute * DEFAULTS.spotify_oembed_rate_window_s / 60
    assert max_in_window(itunes_at, DEFAULTS.itunes_rate_window_s) <= itunes_cap
    assert max_in_window(itunes_at, 60) <= DEFAULTS.itunes_calls_per_minute
    assert max_in_window(oembed_at, DEFAULTS.spotify_oembed_rate_window_s) <= oembed_cap
    # The page's iTunes lookups ran before the backlog's.
    terms = {t: search_term(s.title, s.artist) for t, s in ((s.track_id, s) for s in stack.songs(shown))}
    assert sorted(c.term for c in fake.calls[:PAGE]) == sorted(terms.values())

    # 4. Each song was fetched once from each source, although the page's songs were shown twice and
    # most of them also wait in the backlog. (Two catalog songs can share an iTunes term, so calls
    # per term are compared with the looked-up songs per term.)
    oembed_per_song = Counter(c.term for c in fake.oembed_calls)
    assert all(oembed_per_song[t] == 1 for t in shown) and sum(oembed_per_song.values()) == PAGE
    looked_up = [
        s for s in stack.songs(list({*shown, *(t for _, t in backlog)})) if s.enrich_status != "pending"
    ]
    assert set(shown) <= {s.track_id for s in looked_up}
    assert Counter(c.term for c in fake.calls) == Counter(search_term(s.title, s.artist) for s in looked_up)
    # And once done, showing it again queues nothing.
    visible_ids(stack)
    time.sleep(1.0)
    assert stack.queued(stack.queues.art) == [] and stack.queued(stack.queues.visible) == []
    print(f"art on all {PAGE} cards {art_after_s:.1f} s after the workers started")
