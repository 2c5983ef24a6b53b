"""Benchmark: memory of one encoder replica, ViT-B-32 (random weights, same size), service defaults.

    PYTHONPATH=. python -m scripts.bench.encoder_memory [--seconds 30]

Builds the encoder as the service does (``build_encoder``: ONNX towers, int8 image tower where
``auto`` picks it), which records the process RSS just before and just after it drops the torch
model. Then it encodes photos in batches of 16 and catalog sentences in batches of 64 for
``--seconds``, as a busy replica does, and samples the RSS every 50 ms for the peak. Writes
``bench-results/encoder_memory.json``. The first run on a machine also exports the ONNX towers;
the figures of a restart (towers already exported) are what every later start costs.
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from scripts.bench.encoder_common import BENCH_DIR, test_photos, vit_b32_checkpoint
from scripts.bench.results import Run
from services.common.catalog import load_catalog
from services.encoder.encoding import build_encoder
from services.encoder.images import prepare_upload
from services.encoder.memory import rss_bytes
from services.encoder.settings import EncoderSettings, get_settings

TARGET_MB = 1536
MB = 2**20


def descriptions() -> list[str]:
    songs, _ = load_catalog(get_settings().catalog_path)
    return [s.description for s in songs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    run = Run("encoder_memory", {"model": "ViT-B-32 (random weights)", "seconds": args.seconds,
                                 "image_batch": 16, "text_batch": 64})  # fmt: skip
    checkpoint = vit_b32_checkpoint()
    settings = EncoderSettings(clip_checkpoint=checkpoint, data_dir=BENCH_DIR / "var", torch_threads=2)
    # The catalog is read in a child process: its ~30k song objects are not the encoder's memory.
    with ProcessPoolExecutor(1) as pool:
        texts = pool.submit(descriptions).result()
    exported = any((settings.data_dir / "encoder" / "onnx").rglob("*.onnx"))  # a restart, not a first start
    baseline = rss_bytes()
    started = time.perf_counter()
    encoder = build_encoder(settings)
    build_s = time.perf_counter() - started
    assert encoder.released is not None, "the ONNX runtime always releases the torch model"
    before, after = encoder.released
    ready = rss_bytes()

    peak, samples = [ready], []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            rss = rss_bytes()
            samples.append(round(rss / MB))
            peak[0] = max(peak[0], rss)
            time.sleep(0.05)

    photos = [prepare_upload(data, encoder.clip.preprocess, 10**8, 10**8) for _, data in test_photos()]
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    deadline = time.monotonic() + args.seconds
    images = sentences = 0
    while time.monotonic() < deadline:
        encoder.encode_pixels([photos[(images + i) % len(photos)] for i in range(16)])
        images += 16
        encoder.encode_texts(texts[sentences % len(texts) : sentences % len(texts) + 64])
        sentences += 64
    stop.set()
    sampler.join()
    figures = {
        "runtime": encoder.runtime,
        "build_s": round(build_s, 1),
        "onnx_already_exported": exported,
        "rss_mb": {
            "before_model": round(baseline / MB),
            "with_torch_model": round(before / MB),
            "after_release": round(after / MB),
            "ready": round(ready / MB),
            "peak_under_load": round(peak[0] / MB),
        },
        "released_mb": round((before - after) / MB),
        "load": {"images": images, "sentences": sentences},
        "target_peak_mb": TARGET_MB,
        "target_met": peak[0] / MB <= TARGET_MB,
    }
    path = run.save(figures, {"rss_mb_every_50ms": samples})
    print(figures)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
