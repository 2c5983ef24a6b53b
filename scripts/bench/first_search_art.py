"""First search on a fresh stack: how soon every card on screen has art, and how many cards can play
something at first render, with songs on screen enriched first (the default) and without.

    PYTHONPATH=. python -m scripts.bench.first_search_art [--rounds 3] [--backlog 1000] [--budget 30]

Two fresh stacks run side by side (real encoder with a tiny CLIP checkpoint, search, Redis, one
Celery worker each at the real default rate limits), in front of the fake iTunes + oEmbed server,
which knows every indexed song (so iTunes finds each one, as it would for most real songs). Each
has a popular-first backlog of ``--backlog`` songs queued by the batch job. Round n shows page n of
one photo's results (12 songs not shown before) on both stacks, alternating which goes first:

- with (``enrich_on_view`` on): seconds from the search until all 12 cards have art;
- without (off, the catalog is enriched by the backlog only): cards with art after ``--budget``
  seconds, and the projected wait for the last card, from its place in the backlog at the iTunes
  limit's pace.

"Playable at first render" counts the cards of the first page as rendered by the UI: an iTunes
preview (<audio>) or the click-to-load Spotify player with the change; an iTunes preview only
without it (the player is part of the change). Nothing is asserted. Writes
``bench-results/first_search_art.json`` (``scripts/bench/results.py``), which
``python -m scripts.bench.report`` renders.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from scripts.bench.results import Run
from scripts.make_demo_model import make_tiny_checkpoint
from services.common.contracts.songs import Song
from services.common.embedded import start_redis
from services.common.rate_limits import calls_per_second
from services.enricher.matching import search_term
from services.enricher.settings import EnricherSettings
from services.ui.cards import card_html
from tests.enricher.fake_itunes import FakeItunes, FakeItunesServer, Step
from tests.enricher.fresh_stack import FreshStack, fresh_stack
from tests.enricher.stack import Worker
from tests.ui.conftest import photo_png

PAGE = 12


def itunes_hit(song: dict) -> bytes:
    """An iTunes answer holding exactly this song (600x600 art and preview on Apple's hosts)."""
    n = abs(hash(song["track_id"])) % 10**9
    return json.dumps(
        {
            "resultCount": 1,
            "results": [
                {
                    "wrapperType": "track",
                    "kind": "song",
                    "trackId": n,
                    "trackName": song["title"],
                    "artistName": song["artist"],
                    "trackTimeMillis": song.get("duration_ms"),
                    "previewUrl": f"https://audio-ssl.itunes.apple.com/itunes-assets/AudioPreview/{n}.m4a",
                    "artworkUrl100": f"https://is1-ssl.mzstatic.com/image/thumb/Music/{n}/100x100bb.jpg",
                    "trackViewUrl": f"https://music.apple.com/us/song/{n}",
                    "primaryGenreName": "Pop",
                    "releaseDate": "2019-01-01T12:00:00Z",
                }
            ],
        }
    ).encode()


def first_page(stack: FreshStack, round_no: int) -> list[Song]:
    """Round n shows page n of the same photo's results: 12 songs nobody has seen yet."""
    page = stack.search.search_image(
        photo_png("sunset"), "photo.png", "image/png", limit=PAGE, offset=round_no * PAGE
    )
    return [hit.song for hit in page.hits]


def playable(songs: list[Song], with_player: bool) -> int:
    marks = ("<audio", "pp-embed-load") if with_player else ("<audio",)
    return sum(any(mark in card_html(song) for mark in marks) for song in songs)


def with_art(stack: FreshStack, track_ids: list[str]) -> int:
    return sum(Song.model_validate(s).card_art_url is not None for s in stack.songs(track_ids))


def wait_for_art(stack: FreshStack, track_ids: list[str], budget_s: float) -> tuple[float | None, int]:
    """(seconds until every card has art or None, cards with art at the end)."""
    start = time.monotonic()
    while time.monotonic() - start < budget_s:
        done = with_art(stack, track_ids)
        if done == len(track_ids):
            return time.monotonic() - start, done
        time.sleep(0.1)
    return None, with_art(stack, track_ids)


def backlog_wait_s(stack: FreshStack, track_ids: list[str], pace: float) -> float:
    """When the backlog will reach the last of ``track_ids`` at ``pace`` lookups per second."""
    queue = [t for _, t in stack.queued(stack.queues.backlog)]
    positions = [queue.index(t) + 1 for t in track_ids if t in queue]
    return max(positions, default=0) / pace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--budget", type=float, default=30.0, help="seconds to wait on the side without")
    args = parser.parse_args()
    defaults = EnricherSettings()
    pace = calls_per_second(defaults.itunes_calls_per_minute, defaults.itunes_rate_window_s)
    limits = {"itunes_per_minute": defaults.itunes_calls_per_minute,
              "oembed_per_minute": defaults.spotify_oembed_calls_per_minute}  # fmt: skip
    run = Run("first_search_art", {**vars(args), "page": PAGE, "limits": limits})
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
        f"limits: iTunes {defaults.itunes_calls_per_minute}/min, "
        f"oEmbed {defaults.spotify_oembed_calls_per_minute}/min; backlog {args.backlog} songs"
    )
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        base = Path(tmp)
        model = make_tiny_checkpoint(base / "model")
        redis = start_redis(base / "redis")
        stack.callback(redis.stop)
        fake: FakeItunes = stack.enter_context(FakeItunesServer())
        sides: dict[str, FreshStack] = {}
        for name, on in (("with", True), ("without", False)):
            sides[name] = stack.enter_context(
                fresh_stack(base / name, model, redis.url, fake, args.backlog + 200, enrich_on_view=on)
            )
        everything = [s for side in sides.values() for s in side.songs(_indexed_ids(side))]
        for song in everything:
            fake.plan(search_term(song["title"], song["artist"]), [Step(body=itunes_hit(song))])
        for name, side in sides.items():
            batch = side.run_batch("--limit", str(args.backlog), "--no-wait")
            assert batch.returncode == 0, batch.stdout + batch.stderr
            worker = Worker(name, side.env, base / f"{name}-worker.log")
            stack.callback(worker.stop)
        time.sleep(8)  # the workers start and the backlog begins, as on a running install

        results: dict[str, list] = {"with": [], "without": []}
        for round_no in range(args.rounds):
            order = ("with", "without") if round_no % 2 == 0 else ("without", "with")
            for name in order:
                side = sides[name]
                songs = first_page(side, round_no)
                ids = [s.track_id for s in songs]
                at_render = playable(songs, with_player=name == "with")
                seconds, done = wait_for_art(side, ids, 60.0 if name == "with" else args.budget)
                projected = backlog_wait_s(side, ids, pace) if seconds is None else None
                results[name].append((seconds, done, at_render, len(ids), projected))
                print(
                    f"round {round_no + 1} {name:7}: art on all {len(ids)} cards "
                    + (f"after {seconds:.1f} s" if seconds is not None else f"not within {args.budget:.0f} s")
                    + f" ({done}/{len(ids)} with art at the end"
                    + (f"; backlog reaches the last one in ~{projected / 60:.0f} min" if projected else "")
                    + f"); playable at first render {at_render}/{len(ids)}",
                    flush=True,
                )
    figures = summary(results)
    report(figures, args.rounds, args.budget)
    fields = ("all_art_s", "with_art_at_end", "playable_at_render", "cards", "projected_wait_s")
    samples = {name: [dict(zip(fields, r, strict=True)) for r in rows] for name, rows in results.items()}
    print(f"wrote {run.save(figures, samples)}")


def summary(results: dict[str, list]) -> dict[str, Any]:
    """Per side: rounds with art on every card (and how long it took), cards with art at the end,
    cards playable at first render, and the backlog's projected wait where art did not come."""
    figures: dict[str, Any] = {}
    for name, rows in results.items():
        times = [r[0] for r in rows if r[0] is not None]
        projections = [r[4] for r in rows if r[4] is not None]
        figures[name] = {
            "rounds": len(rows),
            "rounds_all_art": len(times),
            "all_art_s": {"median": round(statistics.median(times), 1), "max": round(max(times), 1)}
            if times
            else None,
            "with_art_at_end": sum(r[1] for r in rows),
            "playable_at_render": sum(r[2] for r in rows),
            "cards": sum(r[3] for r in rows),
            "projected_wait_s": round(statistics.median(projections)) if projections else None,
        }
    return figures


def report(figures: dict[str, Any], rounds: int, budget_s: float) -> None:
    on, off = figures["with"], figures["without"]
    print("summary:")
    if on["all_art_s"]:
        print(
            f"  with:    art on all cards after median {on['all_art_s']['median']:.1f} s "
            f"(max {on['all_art_s']['max']:.1f} s; {on['rounds_all_art']}/{rounds} rounds within 60 s)"
        )
    print(f"  with:    playable at first render {on['playable_at_render']}/{on['cards']}")
    print(
        f"  without: art on all cards within {budget_s:.0f} s in {off['rounds_all_art']}/{rounds} rounds; "
        f"cards with art after {budget_s:.0f} s {off['with_art_at_end']}/{off['cards']}"
    )
    if off["projected_wait_s"] is not None:
        print(
            f"  without: projected wait for the last card: median {off['projected_wait_s'] / 60:.0f} min"
            " (its place in the backlog at the iTunes pace)"
        )
    print(f"  without: playable at first render {off['playable_at_render']}/{off['cards']}")


def _indexed_ids(side: FreshStack) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        page = side.search.pending_enrichment(limit=1000, after=after, all=True)
        ids.extend(page.track_ids)
        after = page.next
        if not after:
            return ids


if __name__ == "__main__":
    main()
