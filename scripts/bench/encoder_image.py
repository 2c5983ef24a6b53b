"""Issue #8 target 1: one image at a time, optimised service path vs plain open_clip, same run.

    PYTHONPATH=. python -m scripts.bench.encoder_image [--rounds 5] [--no-int8]

ViT-B-32 with random weights (same cost as the real weights; "random weights, same cost").
Both sides start from the uploaded bytes: plain = PIL open + open_clip preprocess +
``encode_image`` (torch, inference_mode); optimised = the service's ``open_checked`` + ``to_pixels``
+ ``ClipEncoder.encode_pixels`` (ONNX Runtime). Runs alternate per image so load changes from
other users of the machine hit both sides alike. Prints p50s, the ratio and cosine parity; with
int8, also its parity and top-10 overlap against fp32 over catalog song vectors.
"""

from __future__ import annotations

import argparse
import io

import numpy as np
import open_clip
import torch
from PIL import Image

from scripts.bench.encoder_common import BENCH_DIR, machine_line, p, test_photos, timed, vit_b32_checkpoint
from services.common.settings import Settings
from services.encoder.encoding import ClipEncoder, build_encoder
from services.encoder.images import open_checked, prepare_upload, to_pixels

MAX_BYTES, MAX_PIXELS = 10 * 1024 * 1024, 40_000_000


def optimised(encoder: ClipEncoder, data: bytes, jpeg_draft: bool = True) -> np.ndarray:
    """The service's path for one upload (what /encode/image does, minus HTTP)."""
    pixels = prepare_upload(data, encoder.clip.preprocess, MAX_BYTES, MAX_PIXELS, jpeg_draft)
    return encoder.encode_pixels([pixels])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the 12 test photos")
    parser.add_argument("--no-int8", action="store_true", help="skip the int8 variant")
    parser.add_argument("--songs", type=int, default=2000, help="catalog songs for the top-10 overlap")
    args = parser.parse_args()

    torch.set_num_threads(2)
    checkpoint = vit_b32_checkpoint()
    settings = Settings(clip_checkpoint=checkpoint, data_dir=BENCH_DIR / "var", torch_threads=2)
    fast = build_encoder(settings.model_copy(update={"encoder_runtime": "onnx"}))
    int8 = None if args.no_int8 else build_encoder(settings.model_copy(update={"encoder_quantize": "int8"}))
    plain_model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{checkpoint}")
    plain_model.eval()

    def plain(data: bytes) -> np.ndarray:
        with torch.inference_mode():
            pixels = preprocess(Image.open(io.BytesIO(data)))[None]
            return plain_model.encode_image(pixels, normalize=True)[0].numpy()

    photos = test_photos()
    for _, data in photos[:2]:  # warm-up: first runs allocate and pick kernels
        plain(data), optimised(fast, data), int8 and optimised(int8, data)

    times: dict[str, list[float]] = {
        "plain": [], "onnx": [], "exact": [], "int8": [], "plain_model": [], "onnx_model": []
    }
    vectors: dict[str, dict[str, np.ndarray]] = {"plain": {}, "onnx": {}, "exact": {}, "int8": {}}
    for _ in range(args.rounds):
        for name, data in photos:
            t, vectors["plain"][name] = timed(plain, data)
            times["plain"].append(t)
            t, vectors["onnx"][name] = timed(optimised, fast, data)
            times["onnx"].append(t)
            t, vectors["exact"][name] = timed(optimised, fast, data, False)
            times["exact"].append(t)
            if int8 is not None:
                t, vectors["int8"][name] = timed(optimised, int8, data)
                times["int8"].append(t)
    # Model only (pixels already prepared), to separate the tower from decoding.
    pixels = to_pixels(open_checked(photos[0][1], MAX_BYTES, MAX_PIXELS), fast.clip.preprocess)[None]
    with torch.inference_mode():
        tensor = torch.from_numpy(pixels)
        for _ in range(args.rounds * 4):
            times["plain_model"].append(timed(plain_model.encode_image, tensor)[0])
            times["onnx_model"].append(timed(fast.towers.image, pixels)[0])

    def cos(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))

    onnx_parity = [cos(vectors["onnx"][n], vectors["plain"][n]) for n, _ in photos]
    plain_p50, onnx_p50 = p(times["plain"], 50), p(times["onnx"], 50)
    print(f"# encoder_image — ViT-B-32, random weights, same cost; {machine_line()}")
    print(f"photos: {len(photos)} ({', '.join(n for n, _ in photos)}), rounds: {args.rounds}, batch 1")
    print(f"plain open_clip (torch, PIL preprocess) p50 {plain_p50:7.1f} ms, p90 {p(times['plain'], 90):.1f}")
    print(f"optimised (onnx fp32, service path)      p50 {onnx_p50:7.1f} ms, p90 {p(times['onnx'], 90):.1f}")
    exact_p50 = p(times["exact"], 50)
    print(f"  without JPEG draft decoding: p50 {exact_p50:7.1f} ms, ratio {exact_p50 / plain_p50:.3f}")
    print(f"RATIO optimised/plain p50: {onnx_p50 / plain_p50:.3f} (target <= 0.45)")
    exact_parity = [cos(vectors["exact"][n], vectors["plain"][n]) for n, _ in photos]
    print(
        f"parity onnx vs open_clip fp32: min cosine {min(onnx_parity):.6f} over {len(photos)} photos"
        f" (target >= 0.999); without JPEG draft {min(exact_parity):.6f}"
    )
    plain_model_p50, onnx_model_p50 = p(times["plain_model"], 50), p(times["onnx_model"], 50)
    print(
        f"model only: plain {plain_model_p50:.1f} ms, onnx {onnx_model_p50:.1f} ms,"
        f" ratio {onnx_model_p50 / plain_model_p50:.3f}"
    )
    if int8 is not None:
        int8_parity = [cos(vectors["int8"][n], vectors["plain"][n]) for n, _ in photos]
        int8_p50 = p(times["int8"], 50)
        print(
            f"int8 (opt-in) p50 {int8_p50:7.1f} ms, ratio {int8_p50 / plain_p50:.3f};"
            f" min cosine vs fp32 {min(int8_parity):.6f}, mean {np.mean(int8_parity):.6f}"
        )
        overlap = top10_overlap(fast, vectors, args.songs)
        print(f"int8 top-10 overlap vs fp32 over {args.songs} catalog songs: {overlap}")


def top10_overlap(fast: ClipEncoder, vectors: dict[str, dict[str, np.ndarray]], songs: int) -> str:
    """Mean share of the fp32 top-10 songs that int8 image vectors also rank top-10."""
    from services.common.catalog import load_catalog
    from services.common.settings import get_settings

    catalog, _ = load_catalog(get_settings().catalog_path)
    texts = list(dict.fromkeys(song.description for song in catalog))[:songs]
    index = fast.encode_texts(texts)
    overlaps = []
    for name, reference in vectors["plain"].items():
        top_ref = set(np.argsort(-index @ reference)[:10])
        top_int8 = set(np.argsort(-index @ vectors["int8"][name])[:10])
        overlaps.append(len(top_ref & top_int8) / 10)
    return f"mean {np.mean(overlaps):.2f}, min {min(overlaps):.1f} over {len(overlaps)} photos"


if __name__ == "__main__":
    main()
