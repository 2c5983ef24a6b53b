"""Shared pieces of the encoder benchmarks: a ViT-B-32 checkpoint with random weights (same cost as
the real one; this machine cannot download weights), synthetic photos and the machine line.
"""

from __future__ import annotations

import io
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

BENCH_DIR = Path(os.environ.get("PIXELPLAY_BENCH_DIR", "var/bench-encoder"))


def vit_b32_checkpoint(folder: Path = BENCH_DIR / "vit-b-32-random", seed: int = 0) -> Path:
    """``open_clip.create_model('ViT-B-32')`` (random weights, fixed seed) saved as a local-dir
    checkpoint, so the service loads it through its normal path. Built once, then reused."""
    import open_clip
    import torch

    if (folder / "open_clip_model.bin").is_file():
        return folder
    torch.manual_seed(seed)
    model = open_clip.create_model("ViT-B-32")
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "model_cfg": open_clip.get_model_config("ViT-B-32"),
        "preprocess_cfg": {
            "mean": list(open_clip.OPENAI_DATASET_MEAN),
            "std": list(open_clip.OPENAI_DATASET_STD),
        },
        "pixelplay": {"pretrained": False, "name": f"ViT-B-32-random-seed{seed}"},
    }
    (folder / "open_clip_config.json").write_text(json.dumps(config, indent=2))
    torch.save(model.state_dict(), folder / "open_clip_model.bin.tmp")
    os.replace(folder / "open_clip_model.bin.tmp", folder / "open_clip_model.bin")
    return folder


def photo_bytes(seed: int, size: tuple[int, int], fmt: str = "JPEG") -> bytes:
    """A deterministic synthetic 'photo': gradients, smooth waves, shapes and sensor-like noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    phase = rng.uniform(0, 6.28, 3)
    freq = rng.uniform(0.005, 0.03, 3)
    waves = [freq[c] * (x * np.cos(phase[c]) + y * np.sin(phase[c])) + phase[c] for c in range(3)]
    channels = [127 + 100 * np.sin(wave) for wave in waves]
    base = np.stack(channels, axis=-1) + rng.normal(0, 8, (h, w, 3))
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(10, min(w, h) // 4))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0 - r, y0 - r, x0 + r, y0 + r], fill=color)
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def test_photos() -> list[tuple[str, bytes]]:
    """12 uploads like the UI gets: phone-sized JPEGs, a few PNG/WebP, portrait and landscape."""
    sizes = [(1024, 768), (768, 1024), (1600, 1200), (640, 480), (1280, 720), (800, 800)]
    photos = [(f"jpeg-{w}x{h}", photo_bytes(i, (w, h))) for i, (w, h) in enumerate(sizes)]
    photos += [(f"png-{w}x{h}", photo_bytes(10 + i, (w, h), "PNG")) for i, (w, h) in enumerate(sizes[:3])]
    photos += [(f"webp-{w}x{h}", photo_bytes(20 + i, (w, h), "WEBP")) for i, (w, h) in enumerate(sizes[3:])]
    return photos


def p(values: list[float], q: float) -> float:
    """q-th percentile (0..100) of a list of seconds, in milliseconds."""
    return float(np.percentile(np.asarray(values) * 1000, q))


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def machine_line() -> str:
    import onnxruntime
    import open_clip
    import torch

    load = os.getloadavg()
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, no GPU; "
        f"load avg {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}; Python {platform.python_version()}, "
        f"torch {torch.__version__}, open_clip {open_clip.__version__}, onnxruntime {onnxruntime.__version__}"
    )


def median(values: list[float]) -> float:
    return statistics.median(values)
