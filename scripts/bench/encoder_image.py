"""Encoder, one image at a time: optimised service path vs plain open_clip, same run.

    PYTHONPATH=. python -m scripts.bench.encoder_image [--rounds 5]

ViT-B-32 with random weights (same cost as the real weights; "random weights, same cost").
Both sides start from the uploaded bytes: plain = PIL open + open_clip preprocess +
``encode_image`` (torch, inference_mode); optimised = the service's ``prepare_upload`` +
``ClipEncoder.encode_pixels`` (ONNX Runtime) with the service defaults, i.e. quantisation "auto"
(the int8 image tower when this CPU has VNNI and int8 keeps parity, else fp32), and the same
with fp32 forced. Runs alternate per image so load changes from other users of the machine hit
every side alike. Prints p50s, ratios, cosine parity against open_clip fp32 and, when the default
runs int8, the top-10 overlap of its rankings with fp32 ones over catalog song vectors.
"""

from __future__ import annotations

import argparse
import io

import numpy as np
import open_clip
import torch
from PIL import Image

from scripts.bench.encoder_common import BENCH_DIR, machine_line, p, test_photos, timed, vit_b32_checkpoint
from scripts.bench.results import Run, ratio_rounds
from services.encoder.encoding import ClipEncoder, build_encoder
from services.encoder.images import open_checked, prepare_upload, to_pixels
from services.encoder.settings import EncoderSettings

MAX_BYTES, MAX_PIXELS = 10 * 1024 * 1024, 40_000_000


def optimised(encoder: ClipEncoder, data: bytes, jpeg_draft: bool = True) -> np.ndarray:
    """The service's path for one upload (what /encode/image does, minus HTTP)."""
    pixels = prepare_upload(data, encoder.clip.preprocess, MAX_BYTES, MAX_PIXELS, jpeg_draft)
    return encoder.encode_pixels([pixels])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the 12 test photos")
    parser.add_argument("--songs", type=int, default=2000, help="catalog songs for the top-10 overlap")
    args = parser.parse_args()

    torch.set_num_threads(2)
    checkpoint = vit_b32_checkpoint()
    settings = EncoderSettings(clip_checkpoint=checkpoint, data_dir=BENCH_DIR / "var", torch_threads=2)
    default = build_encoder(settings.model_copy(update={"runtime": "onnx"}))
    fp32 = build_encoder(settings.model_copy(update={"quantize": "none"}))
    plain_model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{checkpoint}")
    plain_model.eval()

    def plain(data: bytes) -> np.ndarray:
        with torch.inference_mode():
            pixels = preprocess(Image.open(io.BytesIO(data)))[None]
            return plain_model.encode_image(pixels, normalize=True)[0].numpy()

    sides = {
        "plain": plain,
        "default": lambda data: optimised(default, data),
        "fp32": lambda data: optimised(fp32, data),
        "fp32, no JPEG draft": lambda data: optimised(fp32, data, False),
    }
    photos = test_photos()
    for _, data in photos[:2]:  # warm-up: first runs allocate and pick kernels
        for run in sides.values():
            run(data)
    times: dict[str, list[float]] = {name: [] for name in sides}
    vectors: dict[str, dict[str, np.ndarray]] = {name: {} for name in sides}
    for _ in range(args.rounds):
        for photo, data in photos:
            for name, run in sides.items():
                elapsed, vectors[name][photo] = timed(run, data)
                times[name].append(elapsed)
    # Model only (pixels already prepared), to separate the towers from decoding.
    pixels = to_pixels(open_checked(photos[0][1], MAX_BYTES, MAX_PIXELS), fp32.clip.preprocess)[None]
    towers = {"plain": plain_model.encode_image, "default": default.towers.image, "fp32": fp32.towers.image}
    model_times: dict[str, list[float]] = {name: [] for name in towers}
    with torch.inference_mode():
        tensor = torch.from_numpy(pixels)
        for _ in range(args.rounds * 4):
            for name, run in towers.items():
                model_times[name].append(timed(run, tensor if name == "plain" else pixels)[0])

    def cos(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))

    plain_p50 = p(times["plain"], 50)
    print(f"# encoder_image — ViT-B-32, random weights, same cost; {machine_line()}")
    print(f"photos: {len(photos)} ({', '.join(n for n, _ in photos)}), rounds: {args.rounds}, batch 1")
    print(f"service default runtime: {default.runtime}")
    for name in sides:
        p50 = p(times[name], 50)
        parity = min(cos(vectors[name][n], vectors["plain"][n]) for n, _ in photos)
        print(
            f"{name:20s} p50 {p50:6.1f} ms, p90 {p(times[name], 90):6.1f} ms, ratio {p50 / plain_p50:.3f},"
            f" min cosine to open_clip fp32 {parity:.6f}"
        )
    print(
        f"RATIO default/plain p50: {p(times['default'], 50) / plain_p50:.3f} (target <= 0.45, cos >= 0.999)"
    )
    plain_model_p50 = p(model_times["plain"], 50)
    print(
        "model only p50: "
        + ", ".join(
            f"{n} {p(t, 50):.1f} ms ({p(t, 50) / plain_model_p50:.3f})" for n, t in model_times.items()
        )
    )
    overlap = None
    if "int8" in default.runtime:
        # Both sides through the service path (same decoding, JPEG draft included): the overlap
        # measures int8 against fp32 and nothing else.
        overlap = top10_overlap(fp32, vectors["fp32"], vectors["default"], args.songs)
        print(f"default (int8) top-10 overlap with the service's fp32 over {args.songs} songs: {overlap}")
    figures = {
        "default_runtime": default.runtime,
        "p50_ms": {name: round(p(t, 50), 1) for name, t in times.items()},
        "default_over_plain": ratio_rounds(times["default"], times["plain"], args.rounds),
        "fp32_over_plain": ratio_rounds(times["fp32"], times["plain"], args.rounds),
        "model_only_p50_ms": {name: round(p(t, 50), 1) for name, t in model_times.items()},
        "min_cosine_to_plain": {
            name: round(min(cos(vectors[name][n], vectors["plain"][n]) for n, _ in photos), 6)
            for name in sides
        },
        "top10_overlap_int8_vs_fp32": overlap,
    }
    path = Run("encoder_image", {"rounds": args.rounds, "photos": len(photos), "songs": args.songs}).save(
        figures, {name: [round(x, 5) for x in t] for name, t in times.items()}
    )
    print(f"wrote {path}")


def top10_overlap(
    fp32: ClipEncoder, reference: dict[str, np.ndarray], candidate: dict[str, np.ndarray], songs: int
) -> dict:
    """Mean share of the fp32 top-10 songs that the candidate's image vectors also rank top-10."""
    from services.common.catalog import load_catalog
    from services.encoder.settings import get_settings

    catalog, _ = load_catalog(get_settings().catalog_path)
    texts = list(dict.fromkeys(song.description for song in catalog))[:songs]
    index = fp32.encode_texts(texts)
    overlaps = []
    for name, vector in reference.items():
        top_ref = set(np.argsort(-index @ vector)[:10])
        top_candidate = set(np.argsort(-index @ candidate[name])[:10])
        overlaps.append(len(top_ref & top_candidate) / 10)
    return {"mean": round(float(np.mean(overlaps)), 3), "min": min(overlaps), "photos": len(overlaps)}


if __name__ == "__main__":
    main()
