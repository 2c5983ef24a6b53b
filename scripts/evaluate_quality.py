"""Measure how well image → song search matches the mood of a labelled image set.

For every labelled image, the top-k songs are found by cosine between the image vector and each
song's caption vector, and the mean valence and energy of those songs are compared with the image's
labels. Two caption sets are compared on the same images and the same songs:

- ``original``: the original app's 18 captions (3 energy bands x 3 valence bands x 2 tempo bands),
  reconstructed in ``original_caption`` (the original code is not in this repository);
- ``rich``: PixelPlay's descriptions (``services/common/descriptions.py``, ``Song.description``).

Everything is computed in-process (no Qdrant, no running service needed) with either an open_clip
checkpoint loaded here or a running encoder service (``--encoder-url``). Layout of the image folder
and the meaning of the numbers: docs/quality.md.

    python -m scripts.evaluate_quality --images ~/moods --model ViT-B-32 --pretrained laion2b_s34b_b79k
    python -m scripts.evaluate_quality --images ~/moods --checkpoint var/demo-model   # mechanics only
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from services.common.catalog import load_catalog
from services.common.contracts.songs import Song

LABELS_FILE = "labels.csv"
LEVELS = {"low": 0.0, "high": 1.0}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}

# --- the original app's captions (reconstruction) -------------------------------------------------
ORIGINAL_ENERGY = ((1 / 3, "calm"), (2 / 3, "moderately energetic"), (1.01, "energetic"))
ORIGINAL_VALENCE = ((1 / 3, "sad"), (2 / 3, "neutral"), (1.01, "happy"))
ORIGINAL_TEMPO_SPLIT = 120.0  # BPM: below is "slow", from it on "fast"


def _band(value: float | None, bands: tuple[tuple[float, str], ...]) -> str:
    if value is None:  # the original read missing values as the middle of the scale
        return bands[1][1]
    return next(word for bound, word in bands if value < bound)


def original_caption(song: Song) -> str:
    """One of the 18 captions of the original app, e.g. "a sad, calm song with a slow tempo"."""
    valence = _band(song.valence, ORIGINAL_VALENCE)
    energy = _band(song.energy, ORIGINAL_ENERGY)
    tempo = "fast" if (song.tempo or 0.0) >= ORIGINAL_TEMPO_SPLIT else "slow"
    return f"a {valence}, {energy} song with a {tempo} tempo"


def rich_caption(song: Song) -> str:
    return song.description


CAPTION_SETS = {"original": original_caption, "rich": rich_caption}


# --- embedding: in-process open_clip or the encoder service ---------------------------------------
class Embedder(Protocol):
    model_id: str

    def encode_texts(self, texts: list[str]) -> np.ndarray: ...

    def encode_image(self, path: Path) -> np.ndarray: ...


class ClipEmbedder:
    """open_clip loaded in this process: a ``local-dir`` folder, a weights file or a pretrained tag."""

    def __init__(self, model: str, pretrained: str | None = None, checkpoint: Path | None = None):
        import open_clip
        import torch

        torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
        self._torch = torch
        if checkpoint is not None and checkpoint.is_dir():
            name = f"local-dir:{checkpoint}"
            self.model, _, self.preprocess = open_clip.create_model_and_transforms(name)
            self.tokenizer = open_clip.get_tokenizer(name)
            self.model_id = f"local:{checkpoint.name}:{_sha256_prefix(checkpoint / 'open_clip_model.bin')}"
        else:
            weights = str(checkpoint) if checkpoint is not None else pretrained
            self.model, _, self.preprocess = open_clip.create_model_and_transforms(model, pretrained=weights)
            self.tokenizer = open_clip.get_tokenizer(model)
            self.model_id = f"{model}/{weights}"
        self.model.eval()

    def encode_texts(self, texts: list[str], batch: int = 64) -> np.ndarray:
        out = []
        with self._torch.inference_mode():
            for start in range(0, len(texts), batch):
                tokens = self.tokenizer(texts[start : start + batch])
                out.append(self.model.encode_text(tokens).float().numpy())
        return _normalise(np.concatenate(out)) if out else np.zeros((0, 0))

    def encode_image(self, path: Path) -> np.ndarray:
        from PIL import Image

        with Image.open(path) as img, self._torch.inference_mode():
            pixels = self.preprocess(img.convert("RGB")).unsqueeze(0)
            return _normalise(self.model.encode_image(pixels).float().numpy())[0]


class ServiceEmbedder:
    """A running encoder service (``services/encoder``) through its typed client."""

    def __init__(self, url: str):
        from services.common.clients.encoder import EncoderClient

        self.client = EncoderClient(url)
        self.model_id = self.client.info().model_id

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return _normalise(np.asarray(self.client.encode_texts(texts), dtype=np.float64))

    def encode_image(self, path: Path) -> np.ndarray:
        vector = self.client.encode_image(path.read_bytes(), filename=path.name)
        return _normalise(np.asarray([vector], dtype=np.float64))[0]


def _sha256_prefix(path: Path, n: int = 12) -> str:
    """Same weights, same id (the encoder's ``local:<name>:<sha256-prefix>`` convention)."""
    import hashlib

    if not path.is_file():
        return "unknown"
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:n]


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


# --- the labelled image set -----------------------------------------------------------------------
@dataclass(frozen=True)
class LabelledImage:
    path: Path
    valence: float  # 0 = low, 1 = high (or a finer number in 0..1)
    energy: float


def _level(raw: str, column: str, line: int) -> float:
    value = raw.strip().lower()
    if value in LEVELS:
        return LEVELS[value]
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{LABELS_FILE} line {line}: {column} must be low, high or a number in 0..1")
    return number


def read_labels(folder: Path) -> list[LabelledImage]:
    """``labels.csv`` with header ``filename,valence,energy``; every named image must exist."""
    labels_path = folder / LABELS_FILE
    if not labels_path.exists():
        raise FileNotFoundError(f"{labels_path} not found (see docs/quality.md for the layout)")
    images = []
    with labels_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not {"filename", "valence", "energy"} <= set(reader.fieldnames or []):
            raise ValueError(f"{labels_path}: header must be filename,valence,energy")
        for line, row in enumerate(reader, start=2):
            path = folder / row["filename"].strip()
            if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
                raise ValueError(
                    f"{LABELS_FILE} line {line}: {row['filename']!r} is not an image in {folder}"
                )
            images.append(
                LabelledImage(
                    path, _level(row["valence"], "valence", line), _level(row["energy"], "energy", line)
                )
            )
    if len(images) < 2:
        raise ValueError(f"{labels_path}: need at least two labelled images")
    return images


# --- metrics --------------------------------------------------------------------------------------
def ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank (as Spearman's rho needs)."""
    arr = np.asarray(values, dtype=np.float64)
    order = np.argsort(arr, kind="stable")
    result = np.empty(len(arr))
    i = 0
    while i < len(arr):
        j = i
        while j + 1 < len(arr) and arr[order[j + 1]] == arr[order[i]]:
            j += 1
        result[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return result


def spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Spearman's rank correlation; None when either side is constant (undefined)."""
    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


@dataclass
class SetResult:
    captions: int  # distinct captions embedded
    valence_accuracy: float
    energy_accuracy: float
    valence_spearman: float | None
    energy_spearman: float | None
    per_image: list[dict] = field(default_factory=list)


def top_k(image_vec: np.ndarray, song_vecs: np.ndarray, track_ids: list[str], k: int) -> list[int]:
    """Indices of the k best songs; equal scores break on track id (the original's 18 captions tie)."""
    scores = np.round(song_vecs @ image_vec, 6)  # float noise must not decide among identical captions
    return sorted(range(len(track_ids)), key=lambda i: (-scores[i], track_ids[i]))[:k]


def evaluate(
    embedder: Embedder, images: list[LabelledImage], songs: list[Song], k: int = 10
) -> dict[str, SetResult]:
    """Run every image against every caption set; the two sets see the same songs and images."""
    track_ids = [s.track_id for s in songs]
    valence = np.asarray([s.valence if s.valence is not None else np.nan for s in songs])
    energy = np.asarray([s.energy if s.energy is not None else np.nan for s in songs])
    # "high" means above the median of the songs searched, not above 0.5: catalog energy is skewed high.
    valence_split, energy_split = float(np.nanmedian(valence)), float(np.nanmedian(energy))
    image_vecs = [embedder.encode_image(img.path) for img in images]

    results = {}
    for name, caption in CAPTION_SETS.items():
        texts = [caption(s) for s in songs]
        distinct = sorted(set(texts))  # embed each distinct caption once
        vectors = embedder.encode_texts(distinct)
        index = {t: i for i, t in enumerate(distinct)}
        song_vecs = vectors[[index[t] for t in texts]]
        per_image = []
        for img, vec in zip(images, image_vecs, strict=True):
            top = top_k(vec, song_vecs, track_ids, k)
            mean_v, mean_e = float(np.nanmean(valence[top])), float(np.nanmean(energy[top]))
            per_image.append(
                {
                    "image": img.path.name,
                    "label_valence": img.valence,
                    "label_energy": img.energy,
                    "mean_valence": round(mean_v, 4),
                    "mean_energy": round(mean_e, 4),
                    "valence_ok": (mean_v > valence_split) == (img.valence >= 0.5),
                    "energy_ok": (mean_e > energy_split) == (img.energy >= 0.5),
                    "top": [track_ids[i] for i in top],
                }
            )
        results[name] = SetResult(
            captions=len(distinct),
            valence_accuracy=sum(r["valence_ok"] for r in per_image) / len(per_image),
            energy_accuracy=sum(r["energy_ok"] for r in per_image) / len(per_image),
            valence_spearman=_rho(per_image, "valence"),
            energy_spearman=_rho(per_image, "energy"),
            per_image=per_image,
        )
    return results


def _rho(per_image: list[dict], feature: str) -> float | None:
    return spearman([r[f"label_{feature}"] for r in per_image], [r[f"mean_{feature}"] for r in per_image])


def sample(songs: list[Song], n: int | None) -> list[Song]:
    """Every j-th song by track id: a deterministic, catalog-wide slice for quick runs."""
    ordered = sorted(songs, key=lambda s: s.track_id)
    if not n or n >= len(ordered):
        return ordered
    step = len(ordered) / n
    return [ordered[int(i * step)] for i in range(n)]


def report_lines(
    results: dict[str, SetResult], model_id: str, n_images: int, n_songs: int, k: int
) -> list[str]:
    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:+.3f}"

    lines = [
        f"model {model_id}; {n_images} images; {n_songs} songs; top-{k}",
        f"{'captions':<10}{'distinct':>9}{'valence acc':>13}{'energy acc':>12}"
        f"{'valence rho':>13}{'energy rho':>12}",
    ]
    for name, r in results.items():
        lines.append(
            f"{name:<10}{r.captions:>9}{r.valence_accuracy:>13.2f}{r.energy_accuracy:>12.2f}"
            f"{fmt(r.valence_spearman):>13}{fmt(r.energy_spearman):>12}"
        )
    return lines


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The model options of every quality script: an open_clip model, a local checkpoint, or a
    running encoder service (``embedder_from`` turns them into an ``Embedder``)."""
    parser.add_argument("--model", default="ViT-B-32", help="open_clip architecture (with --pretrained)")
    parser.add_argument("--pretrained", default=None, help="open_clip pretrained tag or weights file")
    parser.add_argument("--checkpoint", type=Path, default=None, help="local-dir folder or weights file")
    parser.add_argument("--encoder-url", default=None, help="use a running encoder service instead")


def embedder_from(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Embedder:
    """The ``Embedder`` the options of ``add_model_arguments`` name (a usage error without one)."""
    if not (args.encoder_url or args.checkpoint or args.pretrained):
        parser.error("give --checkpoint, --pretrained or --encoder-url")
    if args.encoder_url:
        return ServiceEmbedder(args.encoder_url)
    return ClipEmbedder(args.model, args.pretrained, args.checkpoint)


def main(argv: list[str] | None = None) -> dict[str, SetResult]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True, help="folder with labels.csv and the images")
    add_model_arguments(parser)
    parser.add_argument("--catalog", type=Path, default=Path("data/catalog/spotify_songs.csv.gz"))
    parser.add_argument("--songs", type=int, default=None, help="evaluate on a slice of N songs")
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None, help="also write full results here")
    args = parser.parse_args(argv)
    embedder = embedder_from(parser, args)
    images = read_labels(args.images)
    songs, _ = load_catalog(args.catalog)
    songs = sample(songs, args.songs)
    results = evaluate(embedder, images, songs, args.top_k)
    print("\n".join(report_lines(results, embedder.model_id, len(images), len(songs), args.top_k)))
    if args.json:
        args.json.write_text(json.dumps({k: asdict(v) for k, v in results.items()}, indent=2))
    return results


if __name__ == "__main__":
    try:
        main()
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f"error: {exc}")
