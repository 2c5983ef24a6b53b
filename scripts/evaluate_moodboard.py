"""Measure how to combine a moodboard's photos, and what the playlist orders change.

For ``--boards`` random moodboards of 2-6 synthetic photos (gradients with shapes, in random
colours, embedded by the given model's image tower), the top 20 songs of the whole catalog are taken
with two combinations, through the search service's own storage code (embedded qdrant-edge):

- ``mean``: the normalised mean of the photo vectors (nearest songs to it);
- ``recommend``: Qdrant's recommend with every photo as a positive, best-score strategy.

Each list is scored by the cosine between each photo and the list's songs (mean over the list):
**fit** is the mean over the photos, **worst photo** the lowest photo's fit (a list that serves one
photo and ignores another scores low here), and **one-photo share** the share of songs whose
nearest photo is the most common one (1.0 = the list belongs to a single photo). The same
playlists are then ordered ranked / smooth / arc and the mean energy (0..1) and tempo (BPM) jump
between neighbours is reported. Results: docs/quality.md.

    python -m scripts.evaluate_moodboard --checkpoint var/demo-model [--boards 100]
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from scripts.evaluate_quality import (
    add_model_arguments,
    embedder_from,
)
from scripts.evaluate_similar import build_engine
from services.common.catalog import load_catalog
from services.common.contracts.songs import Song
from services.search.moodboard import combine, mean_jump, order_songs
from services.search.storage.base import Recommend

TOP = 20


def synthetic_photo(rng: random.Random, folder: Path, name: str) -> Path:
    """A gradient between two random colours with a few random shapes."""
    size = (160, 120)
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    a = [rng.randrange(256) for _ in range(3)]
    b = [rng.randrange(256) for _ in range(3)]
    for y in range(size[1]):
        t = y / size[1]
        draw.line([(0, y), (size[0], y)], fill=tuple(int(x + (z - x) * t) for x, z in zip(a, b, strict=True)))
    for _ in range(rng.randint(1, 5)):
        x, y, r = rng.randrange(size[0]), rng.randrange(size[1]), rng.randint(5, 40)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(rng.randrange(256) for _ in range(3)))
    path = folder / f"{name}.png"
    image.save(path)
    return path


def list_scores(photos: np.ndarray, songs: np.ndarray) -> tuple[float, float, float]:
    """(fit, worst-photo fit, one-photo share) of one list; rows are unit vectors."""
    cos = songs @ photos.T  # songs x photos
    per_photo = cos.mean(axis=0)
    nearest = np.bincount(cos.argmax(axis=1), minlength=len(photos))
    return float(per_photo.mean()), float(per_photo.min()), float(nearest.max() / len(songs))


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--catalog", type=Path, default=Path("data/catalog/spotify_songs.csv.gz"))
    parser.add_argument("--boards", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    embedder = embedder_from(parser, args)
    songs, _ = load_catalog(args.catalog)
    rng = random.Random(args.seed)
    scores: dict[str, list[tuple[float, float, float]]] = {"mean": [], "recommend": []}
    jumps: dict[str, list[tuple[float, float]]] = {"ranked": [], "smooth": [], "arc": []}
    with tempfile.TemporaryDirectory() as tmp:
        engine = build_engine(Path(tmp) / "index", songs, embedder)
        for board in range(args.boards):
            paths = [synthetic_photo(rng, Path(tmp), f"b{board}p{i}") for i in range(rng.randint(2, 6))]
            photos = np.asarray([embedder.encode_image(p) for p in paths], dtype=np.float64)
            queries = {"mean": combine(photos.tolist()), "recommend": Recommend(photos.tolist())}
            for name, query in queries.items():
                hits = engine.store.query(None, query, None, TOP, with_vectors=True)
                vectors = np.asarray([h.vector for h in hits], dtype=np.float64)
                scores[name].append(list_scores(photos, vectors))
                if name == "mean":
                    ranked = [Song.model_validate(h.payload) for h in hits]
                    for order in jumps:
                        jump = mean_jump(order_songs(ranked, ranked, order))  # type: ignore[arg-type]
                        jumps[order].append((jump.energy, jump.tempo))
        engine.store.close()
    print(
        f"model {embedder.model_id}; {len(songs):,} songs; {args.boards} moodboards of 2-6 photos; top {TOP}"
    )
    print("")
    print("| combination | fit | worst photo | one-photo share |")
    print("| --- | ---: | ---: | ---: |")
    result = {}
    for name, rows in scores.items():
        fit, worst, share = (float(np.mean(col)) for col in zip(*rows, strict=True))
        result[name] = {"fit": fit, "worst": worst, "share": share}
        print(f"| {name} | {fit:.4f} | {worst:.4f} | {share:.3f} |")
    print("")
    print("| order (mean combination) | energy jump | tempo jump (BPM) |")
    print("| --- | ---: | ---: |")
    for order, rows in jumps.items():
        energy, tempo = (float(np.mean(col)) for col in zip(*rows, strict=True))
        result[order] = {"energy": energy, "tempo": tempo}
        print(f"| {order} | {energy:.3f} | {tempo:.1f} |")
    return result


if __name__ == "__main__":
    main()
