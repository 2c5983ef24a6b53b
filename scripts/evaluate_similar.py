"""Measure "Find similar": description only (the old ranking) against description + sound mixes.

For ``--seeds`` seed songs spread over the catalog, the top 10 of ``SearchEngine.similar_to`` (the
search service's own code, on an embedded qdrant-edge shard built here, default "artist" diversity)
are scored on:

- **audio distance**: mean Euclidean distance between the seed's and each hit's standardised audio
  features (``services/search/audio.py``; 0 = identical, about 4.2 = two songs at random);
- **same genre**: share of hits whose catalog genre is the seed's (about 1/6 at random);
- **artist diversity**: distinct artists among the 10 hits, divided by 10.

A "random 10 songs" row gives the chance level of each. The audio features are real data, so the
audio and genre columns mean something even with the demo model; the description vectors do not
(a random model only groups identical or near-identical sentences). Results: docs/quality.md.

    python -m scripts.evaluate_similar --checkpoint var/demo-model [--seeds 500]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from scripts.evaluate_quality import (
    Embedder,
    add_model_arguments,
    embedder_from,
    sample,
)
from services.common.catalog import load_catalog
from services.common.contracts.search import IndexItem, Page
from services.common.contracts.songs import Song
from services.search.audio import audio_distance
from services.search.engine import SearchEngine
from services.search.indexing import ensure_index, upsert_items
from services.search.storage.edge import EdgeStore

TOP = 10
DEFAULT_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass
class SimilarScores:
    label: str
    seeds: int
    audio_distance: float
    same_genre: float
    artist_diversity: float


def score_lists(label: str, seeds: list[Song], results: list[list[Song]]) -> SimilarScores:
    """The three means over every seed's top list."""
    distances, genres, artists = [], [], []
    for seed, hits in zip(seeds, results, strict=True):
        own = seed.model_dump()
        found = [d for d in (audio_distance(own, h.model_dump()) for h in hits) if d is not None]
        if found:
            distances.append(float(np.mean(found)))
        if hits:
            genres.append(sum(h.genre == seed.genre for h in hits) / len(hits))
            artists.append(len({h.artist.casefold() for h in hits}) / len(hits))
    return SimilarScores(
        label=label,
        seeds=len(seeds),
        audio_distance=float(np.mean(distances)),
        same_genre=float(np.mean(genres)),
        artist_diversity=float(np.mean(artists)),
    )


def build_engine(folder: Path, songs: list[Song], embedder: Embedder) -> SearchEngine:
    """An edge shard holding every song with its description vector, filled through the same
    indexing code as the service (which adds the audio vector)."""
    texts = sorted({s.description for s in songs})
    vectors = embedder.encode_texts(texts)
    by_text = {t: v.tolist() for t, v in zip(texts, vectors, strict=True)}
    store = EdgeStore(folder, "songs")
    ensure_index(store, embedder.model_id, len(vectors[0]))
    for start in range(0, len(songs), 1000):
        items = [IndexItem(song=s, vector=by_text[s.description]) for s in songs[start : start + 1000]]
        upsert_items(store, None, embedder.model_id, items)
    return SearchEngine(store)


def evaluate(
    engine: SearchEngine, songs: list[Song], seeds: list[Song], weights: tuple[float, ...], seed: int = 0
) -> list[SimilarScores]:
    rng = random.Random(seed)
    rows = []
    for weight in weights:
        results = []
        for song in seeds:
            page = engine.similar_to(song.track_id, [], Page(limit=TOP), audio_weight=weight)
            results.append([hit.song for hit in page.hits])
        label = "description only (before)" if weight == 0 else f"sound {weight:.2f}"
        rows.append(score_lists(label, seeds, results))
    randoms = [[s for s in rng.sample(songs, TOP + 1) if s.track_id != song.track_id][:TOP] for song in seeds]
    rows.append(score_lists("random 10 songs (chance)", seeds, randoms))
    return rows


def report_lines(rows: list[SimilarScores], model_id: str, n_songs: int) -> list[str]:
    lines = [
        f"model {model_id}; {n_songs:,} songs; {rows[0].seeds} seeds; top {TOP}; diversity 'artist'",
        "",
        "| ranking | audio distance (lower = closer) | same genre | artist diversity |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r.label} | {r.audio_distance:.3f} | {r.same_genre:.3f} | {r.artist_diversity:.3f} |"
        )
    return lines


def main(argv: list[str] | None = None) -> list[SimilarScores]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--catalog", type=Path, default=Path("data/catalog/spotify_songs.csv.gz"))
    parser.add_argument("--seeds", type=int, default=500)
    parser.add_argument("--weights", type=float, nargs="+", default=list(DEFAULT_WEIGHTS))
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    embedder = embedder_from(parser, args)
    songs, _ = load_catalog(args.catalog)
    seeds = sample(songs, args.seeds)
    with tempfile.TemporaryDirectory() as tmp:
        engine = build_engine(Path(tmp), songs, embedder)
        rows = evaluate(engine, songs, seeds, tuple(args.weights))
        engine.store.close()
    print("\n".join(report_lines(rows, embedder.model_id, len(songs))))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return rows


if __name__ == "__main__":
    main()
