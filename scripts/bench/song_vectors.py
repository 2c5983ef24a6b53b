"""Synthetic songs with the structure of real song vectors, for benchmarks at 100k-1M songs.

Random unit vectors are the worst case for HNSW (no neighbourhoods to navigate) and mislead about
recall. Real song vectors are CLIP text vectors of description sentences built from a few
descriptor phrases (mood, tempo, texture, style, era), so songs cluster by the phrases they share
and every vector leans towards a common direction (CLIP's text vectors have mean cosine well
above zero). This model keeps those properties without a real encoder:

- each descriptor phrase of the catalog gets a random direction;
- a synthetic song copies one catalog song's phrases, genre and year (so genre, year and phrase
  frequencies are the catalog's), and its vector is the sum of its phrase directions, a common
  direction, its artist's direction and per-song noise, normalised;
- a query ("a photo") mixes 2-4 phrases with more noise and a weaker common part (the modality
  gap: a photo is farther from every song than songs are from each other).

Arrays are generated once per seed and size (in blocks of 50k songs) and cached as .npy files
outside the repository (``--cache``, default ``/var/tmp/pixelplay-bench``), because 1M x 512
floats take 2 GB and a minute to make on two shared cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.common.catalog import load_catalog

DIM = 512
CACHE = Path("/var/tmp/pixelplay-bench")
# Norms of the parts of a vector; a song has about six phrases of norm 1 each. Chosen so songs
# sharing nothing have cosine ~0.3, songs with one description ~0.85, and photo-like queries
# 0.1-0.35 to songs (the ranges CLIP ViT-B-32 shows for such sentences and photos).
COMMON_WEIGHT = 1.5
ARTIST_WEIGHT = 0.5
SONG_NOISE = 1.0
ARTISTS = 60_000
QUERY_COMMON_WEIGHT = 0.5
QUERY_NOISE = 2.0
CHUNK = 50_000  # songs per generated block; block b always comes from seed (seed, b)


@dataclass
class SongSet:
    vectors: np.ndarray  # (n, DIM) float32, unit rows
    genre: np.ndarray  # (n,) int16 index into genres
    year: np.ndarray  # (n,) int16, 0 when unknown
    artist: np.ndarray  # (n,) int32
    phrases: np.ndarray  # (n,) int32 index of the catalog song the phrases come from
    genres: list[str]
    catalog_phrases: list[list[str]]  # per catalog song, its descriptor phrases
    phrase_vectors: dict[str, np.ndarray]  # unit direction of each phrase (explanations)

    def __len__(self) -> int:
        return len(self.vectors)


def _unit(rows: np.ndarray) -> np.ndarray:
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def song_set(n: int, seed: int = 0, cache: Path = CACHE, catalog: Path | None = None) -> SongSet:
    """``n`` synthetic songs (cached); the first k songs of a set are the same for any n ≥ k."""
    songs, _ = load_catalog(catalog or Path("data/catalog/spotify_songs.csv.gz"))
    rng = np.random.default_rng(seed)
    vocab = sorted({p for s in songs for p in s.descriptors})
    directions = _unit(rng.standard_normal((len(vocab), DIM)).astype(np.float32))
    common = _unit(rng.standard_normal((1, DIM)).astype(np.float32))[0]
    artist_dirs = _unit(rng.standard_normal((ARTISTS, DIM)).astype(np.float32))
    index = {p: i for i, p in enumerate(vocab)}
    genres = sorted({s.genre for s in songs})
    genre_of = np.array([genres.index(s.genre) for s in songs], dtype=np.int16)
    year_of = np.array([s.year or 0 for s in songs], dtype=np.int16)
    # Phrase bag of each catalog song as a (songs x vocab) 0/1 matrix: song vectors are its rows @ directions.
    bag = np.zeros((len(songs), len(vocab)), dtype=np.float32)
    for row, s in enumerate(songs):
        bag[row, [index[p] for p in s.descriptors]] = 1.0

    blocks = -(-n // CHUNK)
    folder = cache / f"songs-seed{seed}-d{DIM}"
    cached = np.load(folder / "genre.npy", mmap_mode="r").shape[0] if (folder / "genre.npy").exists() else 0
    if cached < n:  # blocks are deterministic, so a longer set starts with the shorter one
        parts = [
            _block(np.random.default_rng([seed, b]), bag, directions, common, artist_dirs, genre_of, year_of)
            for b in range(blocks)
        ]
        folder.mkdir(parents=True, exist_ok=True)
        for name in parts[0]:
            np.save(folder / f"{name}.npy", np.concatenate([p[name] for p in parts]))
        del parts
    data = {
        name: np.load(folder / f"{name}.npy", mmap_mode="r")[:n]
        for name in ("vectors", "genre", "year", "artist", "phrases")
    }
    return SongSet(
        vectors=data["vectors"],
        genre=data["genre"],
        year=data["year"],
        artist=data["artist"],
        phrases=data["phrases"],
        genres=genres,
        catalog_phrases=[list(s.descriptors) for s in songs],
        phrase_vectors={p: directions[i] for i, p in enumerate(vocab)},
    )


def _block(
    rng: np.random.Generator,
    bag: np.ndarray,
    directions: np.ndarray,
    common: np.ndarray,
    artist_dirs: np.ndarray,
    genre_of: np.ndarray,
    year_of: np.ndarray,
) -> dict[str, np.ndarray]:
    n = CHUNK
    source = rng.integers(0, len(bag), n).astype(np.int32)
    artist = rng.integers(0, len(artist_dirs), n).astype(np.int32)
    # Years move by up to two either way so filters by year see more than the catalog's values.
    year = np.where(year_of[source] > 0, year_of[source] + rng.integers(-2, 3, n), 0).astype(np.int16)
    rows = bag[source] @ directions
    rows += COMMON_WEIGHT * common + ARTIST_WEIGHT * artist_dirs[artist]
    rows += SONG_NOISE * rng.standard_normal((n, DIM), dtype=np.float32) / np.sqrt(DIM)
    vectors = _unit(rows)
    return {"vectors": vectors, "genre": genre_of[source], "year": year, "artist": artist, "phrases": source}


def queries(songs: SongSet, n: int, seed: int = 100) -> np.ndarray:
    """``n`` photo-like query vectors: 2-4 phrases, a weak common part and more noise."""
    rng = np.random.default_rng(seed)
    vocab = list(songs.phrase_vectors)
    directions = np.stack([songs.phrase_vectors[p] for p in vocab])
    common = _unit(songs.vectors[:2000].mean(axis=0, keepdims=True).astype(np.float32))[0]
    out = np.empty((n, DIM), dtype=np.float32)
    for i in range(n):
        picked = rng.choice(len(vocab), size=int(rng.integers(2, 5)), replace=False)
        out[i] = directions[picked].sum(axis=0) + QUERY_COMMON_WEIGHT * common
        out[i] += QUERY_NOISE * rng.standard_normal(DIM).astype(np.float32) / np.sqrt(DIM)
    return _unit(out)
