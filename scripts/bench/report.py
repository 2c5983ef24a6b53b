"""Render docs/benchmarks.md from the JSON files under bench-results/: no figure is typed by hand.

    python -m scripts.bench.report            # rewrite docs/benchmarks.md
    python -m scripts.bench.report --check    # exit 1 if the doc is not what the files give

Each benchmark script writes one file per run (``scripts/bench/results.py``); each section here
renders the files of one benchmark and names them, so every figure can be traced to its run, its
machine and its load. Measurements made before the report existed, which have no file, are in
docs/benchmarks-history.md, marked as such.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scripts.bench.results import RESULTS
from services.search.storage.tuning import IndexTuning

DOC = Path("docs/benchmarks.md")
_T = IndexTuning()
# The service's settings, as a row of the tuning tables.
DEFAULT_ROW = (_T.m, _T.ef_construct, _T.payload_m, _T.ef, _T.quantization, _T.oversampling)
TARGET_P99_MS = 20.0
TARGET_RECALL = 0.98
TARGET_ART_S = 10.0

Result = dict[str, Any]


def load(folder: Path = RESULTS) -> dict[str, Result]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def where(result: Result) -> str:
    """Machine, date, load and versions of one run, in one line."""
    m = result["machine"]
    load = result["load_average"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    shared = " shared with other jobs;" if m.get("shared") else ""
    return (
        f"`bench-results/{result['benchmark']}.json`: {result['started'][:16].replace('T', ' ')} UTC, "
        f"{m['cpu']} ({m['cores']} cores, {', '.join(m['simd']) or 'no AVX'}),{shared} load average "
        f"{load['start']} → {load['end']}; Python {m['python']}, {packages}. Command: `{result['command']}`"
    )


def fmt_ms(latency: dict[str, float]) -> str:
    return f"{latency['p50_ms']:.1f} / {latency['p99_ms']:.1f}"


def spread(ratio: dict[str, Any]) -> str:
    return f"{ratio['median']:.1f}x ({ratio['min']:.1f}-{ratio['max']:.1f})"


# --- search at scale ------------------------------------------------------------------------------
def search_scale(results: dict[str, Result]) -> list[str]:
    runs = sorted((r for k, r in results.items() if k.startswith("search_scale-")),
                  key=lambda r: r["params"]["songs"])  # fmt: skip
    if not runs:
        return []
    out = [
        "## Search at 100k, 300k and 1M songs",
        "",
        "The embedded store (`EdgeStore`, qdrant-edge) with the service's index settings: HNSW graph "
        "and int8 quantization rescored with the float vectors (`services/search/storage/tuning.py`). "
        "Songs are structured synthetic vectors (`scripts/bench/song_vectors.py`: each song's phrases, "
        "genre and year come from a catalog song, its vector is the sum of its phrase directions plus "
        "artist and noise; queries mix 2-4 phrases like a photo) with full catalog payloads. One "
        "process builds each store (upsert, then `optimize`), a fresh process serves it. Every query "
        "runs alternately as an exact scan and as the default search, plain and with a genre + "
        "ten-year filter; recall@10 is against the exact scan of the same query in the same process. "
        '"Default page" is what the service does for `/search/vector` with default settings: 20 '
        "songs with the artist cap (52 candidates) and explanations.",
        "",
        "| songs | build: upsert + index | disk | RSS serving (store's share) | plain p50 / p99 ms | "
        "filtered p50 / p99 ms | default page p50 / p99 ms | recall@10 plain / filtered | "
        "exact p50 plain / filtered ms | speed-up vs exact, plain / filtered |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in runs:
        b = r["figures"]["builds"][0]
        build, lat, rec = b["build"], b["latency"], b["recall_at_10"]
        exact = f"{lat['plain_exact']['p50_ms']:.1f} / {lat['filtered_exact']['p50_ms']:.1f}"
        speedup = f"{spread(b['speedup_vs_exact']['plain'])} / {spread(b['speedup_vs_exact']['filtered'])}"
        out.append(
            f"| {r['params']['songs']:,} | {build['upsert_s']:.0f} + {build['optimize_s']:.0f} s | "
            f"{build['disk_mb']:,} MB | {b['rss_mb']:,} MB ({b['store_rss_mb']:,}) | "
            f"{fmt_ms(lat['plain'])} | {fmt_ms(lat['filtered'])} | {fmt_ms(lat['default_page'])} | "
            f"{rec['plain']:.3f} / {rec['filtered']:.3f} | {exact} | {speedup} |"
        )
    out += ["", f"Targets at 1M: p99 ≤ {TARGET_P99_MS:.0f} ms and recall@10 ≥ {TARGET_RECALL} for plain and "
            "filtered queries."]  # fmt: skip
    million = [r for r in runs if r["params"]["songs"] == 1_000_000]
    if million:
        b = million[0]["figures"]["builds"][0]
        for kind in ("plain", "filtered"):
            p99, recall = b["latency"][kind]["p99_ms"], b["recall_at_10"][kind]
            met = p99 <= TARGET_P99_MS and recall >= TARGET_RECALL
            verdict = "met" if met else "not met"
            out.append(f"- {kind}: p99 {p99:.1f} ms, recall@10 {recall:.3f}: **{verdict}**")
    else:
        out.append(
            "- **no 1M run in bench-results/**, so the targets are not shown as met: the 1M build "
            "(upsert, then the graph) did not finish within a working session on the shared two-core "
            "machine. Run `python -m scripts.bench.search_scale --scales 1000000` on a quieter one; "
            "the store is cached, so the build is paid once."
        )
    out += ["", "Speed-ups are the median over 5 consecutive rounds of the queries (range in brackets). "
            "Build figures are from the build that made the store the run served (its own time and load "
            "are in the file). Runs:"]  # fmt: skip
    for r in runs:
        built = r["figures"]["builds"][0]["build"]
        when = f"store built {built.get('built_at', '?')} at load {built.get('load_average', '?')}"
        out.append(f"- {where(r)}; {when}.")
    return out


def search_tuning(results: dict[str, Result]) -> list[str]:
    runs = [r for k, r in results.items() if k.startswith(("search_tuning-", "search_ef-"))]
    if not runs:
        return []
    out = [
        "## Choosing m, ef_construct, payload_m and ef",
        "",
        "Same songs and queries as above, several index builds at one size; for each, every query-time "
        "setting on the same graph: `ef` (candidates per query), with the int8 vectors rescored at "
        "`oversampling` x limit, or without quantization. `payload_m` 16 is Qdrant's default: an extra "
        "sub-graph per large value block of every indexed payload field. The row marked default is "
        "what the service uses (`services/search/storage/tuning.py`): without payload links the "
        "build is several times shorter, and ACORN keeps filtered walks connected instead.",
        "",
    ]
    for r in runs:
        what = "several builds" if r["benchmark"].startswith("search_tuning") else "ef on the default build"
        out += [f"### {r['params']['songs']:,} songs: {what}", "",
                "| m | ef_construct | payload_m | build: upsert + index | ef | int8 | oversampling | "
                "plain p50 / p99 ms | recall@10 | filtered p50 / p99 ms | recall@10 |",
                "| ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
        for b in r["figures"]["builds"]:
            t, build = b["tuning"], b["build"]
            for row in b["sweep"]:
                default = (t["m"], t["ef_construct"], t["payload_m"], row["ef"], row["quantized"],
                           row["oversampling"]) == DEFAULT_ROW  # fmt: skip
                out.append(
                    f"| {t['m']}{' (default)' if default else ''} | {t['ef_construct']} | {t['payload_m']} | "
                    f"{build['upsert_s']:.0f} + "
                    f"{build['optimize_s']:.0f} s | {row['ef']} | {'yes' if row['quantized'] else 'no'} | "
                    f"{row['oversampling']:g} | {fmt_ms(row['plain'])} | "
                    f"{row['plain']['recall_at_10']:.3f} | {fmt_ms(row['filtered'])} | "
                    f"{row['filtered']['recall_at_10']:.3f} |"
                )
        out += ["", f"- {where(r)}"]
    return out


def search_latency(r: Result) -> list[str]:
    f = r["figures"]
    ratio = f["default_over_plain"]
    return [
        "## Search at catalog size, over HTTP, default path",
        "",
        "The search service (uvicorn, embedded store) indexes the catalog through its own API and "
        "answers `POST /search/vector` with its defaults: 20 songs, artist cap, explanations. The "
        "plain page (`diversity: off`, no explanations) is the reference, sent alternately with the "
        "default one for every query.",
        "",
        "| songs | upsert + index | default page p50 / p99 ms | plain page p50 / p99 ms | "
        "default ÷ plain (5 rounds) | recall@10 (plain ranking) | pages with explanations |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {f['songs']:,} | {f['upsert_s']:.0f} + {f['optimize_s']:.1f} s | {fmt_ms(f['default_page'])} | "
        f"{fmt_ms(f['plain_page'])} | {ratio['median']:.2f} ({ratio['min']:.2f}-{ratio['max']:.2f}) | "
        f"{f['recall_at_10']:.3f} | {f['pages_with_explanations']:.0%} |",
    ]


def encoder_memory(r: Result) -> list[str]:
    f = r["figures"]
    rss = f["rss_mb"]
    target = "met" if f["target_met"] else "not met"
    return [
        "## Encoder replica memory",
        "",
        "ViT-B-32 (random weights, same size) built as the service builds it, then busy for "
        f"{r['params']['seconds']:.0f} s with batches of 16 photos and 64 catalog sentences "
        f"({f['load']['images']:,} photos, {f['load']['sentences']:,} sentences); RSS sampled every "
        f"50 ms. Runtime: {f['runtime']}; the ONNX towers were "
        f"{'already exported (a restart)' if f['onnx_already_exported'] else 'exported in this run'}.",
        "",
        "| imports only | with the torch model | after dropping it | peak under load | freed |",
        "| ---: | ---: | ---: | ---: | ---: |",
        f"| {rss['before_model']:,} MB | {rss['with_torch_model']:,} MB | {rss['after_release']:,} MB | "
        f"{rss['peak_under_load']:,} MB | {f['released_mb']:,} MB |",
        "",
        f"Target: peak ≤ {f['target_peak_mb']:,} MB: **{target}** in this venv, whose torch is the "
        'CUDA build: importing it alone takes most of the "imports only" column. The encoder '
        "image installs the CPU build, which could not be measured here (its index is unreachable).",
    ]


def encoder_image(r: Result) -> list[str]:
    f = r["figures"]
    p50, cos = f["p50_ms"], f["min_cosine_to_plain"]
    overlap = f["top10_overlap_int8_vs_fp32"]
    lines = [
        "## Encoder: one photo at batch 1",
        "",
        "Plain open_clip (PIL, the open_clip transform, `encode_image`) against the service path "
        "(`prepare_upload` + `encode_pixels`) with the defaults and in fp32; the sides alternate per "
        "photo over 12 synthetic photos per round. Plain torch slows down far more than ONNX Runtime "
        "when other jobs share the cores, so a run at a high load average flatters the service: "
        "compare ratios only between runs at a similar load (earlier idle runs: benchmarks-history.md).",
        "",
        "| side | p50 ms | ÷ plain, median of rounds (range) | min cosine to plain open_clip |",
        "| --- | ---: | ---: | ---: |",
        f"| plain open_clip | {p50['plain']:.1f} | 1 | 1 |",
        f"| service default ({f['default_runtime']}) | {p50['default']:.1f} | "
        f"{spread3(f['default_over_plain'])} | {cos['default']:.6f} |",
        f"| service fp32 | {p50['fp32']:.1f} | {spread3(f['fp32_over_plain'])} | {cos['fp32']:.6f} |",
    ]
    if overlap:
        lines += ["", f"Top-10 overlap of the int8 and the fp32 service paths (same decoding) over "
                  f"{r['params']['songs']:,} catalog sentences: mean {overlap['mean']:.2f}, min "
                  f"{overlap['min']:.1f} over {overlap['photos']} photos."]  # fmt: skip
    return lines


def encoder_texts(r: Result) -> list[str]:
    f = r["figures"]
    return [
        "## Encoder: the catalog's text vectors",
        "",
        "Plain open_clip `encode_text` (77 tokens, batches of 64, timed on a slice, scaled by songs) "
        "against the service's `encode_texts` over every song (de-duplication, length-sorted trimmed "
        f"batches, {f['text_tower']} ONNX text tower), in one run.",
        "",
        "| songs (distinct sentences) | plain | service | gain per song | gain per distinct sentence | "
        "min cosine |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {f['songs']:,} ({f['distinct_sentences']:,}) | {f['plain_total_s']:,.0f} s "
        f"({f['plain_ms_per_song']:.1f} ms/song) | {f['optimised_total_s']:,.1f} s "
        f"({f['optimised_ms_per_sentence']:.1f} ms/sentence) | {f['gain_per_song']:.1f}x | "
        f"{f['gain_per_sentence']:.1f}x | {f['min_cosine']:.6f} |",
    ]


def spread3(ratio: dict[str, Any]) -> str:
    return f"{ratio['median']:.3f} ({ratio['min']:.3f}-{ratio['max']:.3f})"


def song_names(r: Result) -> list[str]:
    f = r["figures"]
    lat, q = f["latency"], f["queries"]
    target = "met" if f["target_met"] else "not met"

    def row(side: str, what: str, ratio: str) -> str:
        t = lat[side]
        ms_cols = f"{t['p50_ms']:.1f} | {t['p95_ms']:.1f} | {t['p99_ms']:.1f}"
        return f"| {what} | {t['n']:,} | {ms_cols} | {ratio} |"

    return [
        '## Song names and fused "similar" over HTTP at catalog size',
        "",
        f"The search service (uvicorn, embedded store: the default path) with {f['songs']:,} catalog songs "
        f"(random 512-d description vectors, the songs' real audio vectors) indexed through its API in "
        f"{f['index_s']:.0f} s. Then {r['params']['rounds']} rounds, each of: "
        f"{r['params']['per_round']} as-you-type `GET /songs/names` queries built from the catalog "
        "(2-6-letter title-word prefixes, artist names, title + artist prefix, 5% unknown words; "
        f"{q['with_matches']:,} found songs, {q['empty']:,} found none), as many `GET /songs/{{id}}` "
        "reads (the reference: one payload read, the cheapest route that touches the index), and "
        f"{r['params']['per_round'] // 5} seeds of `POST /search/similar` (limit 12) with the default "
        "sound mix and with `audio_weight` 0 (description only). No encoder runs, so the similar pages "
        "carry no explanations.",
        "",
        "| request | n | p50 ms | p95 ms | p99 ms | ÷ reference, median of rounds' p50 (range) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        row("names", "`GET /songs/names`", spread3(f["names_over_song"])),
        row("song", "`GET /songs/{id}` (reference)", "1"),
        row("fused", "`POST /search/similar`, default mix", spread3(f["fused_over_description"])),
        row("description", "`POST /search/similar`, description only (reference)", "1"),
        "",
        f"Target: name search p95 ≤ {f['target_p95_ms']:.0f} ms over HTTP at catalog size: "
        f"p95 {lat['names']['p95_ms']:.1f} ms ({f['names_p95_over_song_p95']:.2f}x the reference's p95), "
        f"**{target}**.",
    ]


def first_search_art(r: Result) -> list[str]:
    f, p = r["figures"], r["params"]
    on, off = f["with"], f["without"]
    rounds, budget = p["rounds"], p["budget"]
    if on["all_art_s"]:
        art_on = (f"median **{on['all_art_s']['median']:.1f} s**, max {on['all_art_s']['max']:.1f} s "
                  f"({on['rounds_all_art']}/{rounds} rounds within 60 s)")  # fmt: skip
    else:
        art_on = f"not within 60 s in any round ({on['with_art_at_end']} of {on['cards']} cards)"
    if off["all_art_s"]:
        art_off = (f"median {off['all_art_s']['median']:.1f} s in {off['rounds_all_art']}/{rounds} "
                   f"rounds within {budget:.0f} s")  # fmt: skip
    else:
        art_off = f"not within {budget:.0f} s in any round"
    art_off += f" ({off['with_art_at_end']} of {off['cards']} cards with art after {budget:.0f} s)"
    if off["projected_wait_s"] is not None:
        wait_min = off["projected_wait_s"] / 60
        art_off += (f"; the backlog reaches the last card after a median **{wait_min:.0f} min** (projected "
                    f"from its place in the {p['backlog']:,}-song backlog at the iTunes pace)")  # fmt: skip
    in_time = on["all_art_s"] is not None and on["all_art_s"]["max"] <= TARGET_ART_S
    met = in_time and on["rounds_all_art"] == rounds and on["playable_at_render"] == on["cards"]
    limits = p["limits"]
    return [
        "## Enricher: art and previews from the first search",
        "",
        "Two fresh stacks side by side (tiny real CLIP encoder, search, one Redis, one Celery worker each "
        f"at the default limits: iTunes {limits['itunes_per_minute']}/min, oEmbed "
        f"{limits['oembed_per_minute']}/min), the fake iTunes + oEmbed server knowing every indexed song, "
        f"each with a popular-first backlog of {p['backlog']:,} songs. Round n shows page n of one photo's "
        f"results ({p['page']} songs not shown before) on both stacks, alternating which goes first. "
        '"With" is the default (songs on screen are enriched first); "without" is the same code with '
        "`PIXELPLAY_SEARCH_ENRICH_ON_VIEW=false`, where art and previews come from the backlog only "
        "and only an "
        "iTunes preview counts as playable (the click-to-load Spotify player is part of the change).",
        "",
        f"| measure ({p['page']} cards per page, {rounds} rounds) | with the change (default) | without |",
        "| --- | --- | --- |",
        f"| seconds from the search until all {p['page']} cards have art | {art_on} | {art_off} |",
        f"| cards with a playable preview at first render | **{on['playable_at_render']}/{on['cards']}** "
        "(iTunes preview, else the click-to-load Spotify player) | "
        f"{off['playable_at_render']}/{off['cards']} |",
        "",
        f"Target: {p['page']} of {p['page']} cards with art within {TARGET_ART_S:.0f} s and "
        f"{p['page']} of {p['page']} playable at first render, in every round: "
        f"**{'met' if met else 'not met'}**.",
    ]


def one_run(body: Callable[[Result], list[str]]) -> Callable[[dict[str, Result]], list[str]]:
    """The section about the one result file named like ``body``: its lines, then where it was
    measured."""

    def section(results: dict[str, Result]) -> list[str]:
        if (r := results.get(body.__name__)) is None:
            return []
        return [*body(r), "", f"- {where(r)}"]

    return section


ONE_RUN = (search_latency, encoder_memory, encoder_image, encoder_texts, song_names, first_search_art)
SECTIONS: list[Callable[[dict[str, Result]], list[str]]] = [
    search_scale,
    search_tuning,
    *(one_run(body) for body in ONE_RUN),
]


def render(results: dict[str, Result]) -> str:
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `python -m scripts.bench.report` from bench-results/*.json; edit those "
        "scripts or this renderer, not this file. -->",
        "",
        "Every figure below comes from one JSON file in `bench-results/`, written by the benchmark "
        "script named with it; the file also holds the raw samples. These machines have 2 cores "
        "shared with other jobs, so absolute times are noisy: read the ratios measured in "
        "the same run, and the load average given with each run. Timings are never asserted in tests.",
        "",
        "Measurements made before this report existed (encoder, load, enricher, auth, UI, images) have "
        "no result file: they are kept, typed by hand and labelled with their machines, in "
        "[benchmarks-history.md](benchmarks-history.md).",
    ]
    for section in SECTIONS:
        part = section(results)
        if part:
            lines += ["", *part]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=DOC)
    args = parser.parse_args()
    text = render(load(args.results))
    if args.check:
        if not args.out.exists() or args.out.read_text() != text:
            print(f"{args.out} is not what bench-results/ gives: run python -m scripts.bench.report")
            return 1
        return 0
    args.out.write_text(text)
    print(f"wrote {args.out} from {len(load(args.results))} result files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
