"""Build a tiny, randomly initialised open_clip model and save it as a real checkpoint folder.

Where CLIP weights cannot be downloaded (CI, offline machines), tests and local demos load this folder through
the same code path a real checkpoint takes (``PIXELPLAY_ENCODER_CLIP_CHECKPOINT=<folder>``). Its rankings
are meaningless; the encoder reports it as not pretrained and the UI shows a demo banner.

    python -m scripts.make_demo_model var/demo-model
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

CONFIG_FILE = "open_clip_config.json"
WEIGHTS_FILE = "open_clip_model.bin"

TINY_MODEL_CFG = {
    "embed_dim": 512,  # same vector size as ViT-B-32 so the collection shape matches production
    "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "patch_size": 32, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def make_tiny_checkpoint(folder: Path, seed: int = 0, embed_dim: int = 512, arch: str | None = None) -> Path:
    """Write ``open_clip_config.json`` + ``open_clip_model.bin`` into ``folder``; return it.

    ``arch`` (e.g. "ViT-B-32") takes that open_clip architecture instead of the tiny one, still with
    random weights: same cost as the real model, for speed and load benchmarks.
    """
    import open_clip
    import torch

    torch.manual_seed(seed)
    model_cfg = open_clip.get_model_config(arch) if arch else {**TINY_MODEL_CFG, "embed_dim": embed_dim}
    if model_cfg is None:
        raise SystemExit(f"unknown open_clip architecture {arch!r}")
    model = open_clip.CLIP(**model_cfg)
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "model_cfg": model_cfg,
        "preprocess_cfg": {
            "mean": list(open_clip.OPENAI_DATASET_MEAN),
            "std": list(open_clip.OPENAI_DATASET_STD),
        },
        # Read by the encoder's /info: this checkpoint is random, never a pretrained model.
        "pixelplay": {"pretrained": False, "name": f"{arch or 'tiny'}-random-seed{seed}"},
    }
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    torch.save(model.state_dict(), folder / WEIGHTS_FILE)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=Path("var/demo-model"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--arch", help="a full open_clip architecture (random weights), e.g. ViT-B-32")
    args = parser.parse_args()
    folder = make_tiny_checkpoint(args.folder, args.seed, arch=args.arch)
    print(f"random-weights model written to {folder}; use PIXELPLAY_ENCODER_CLIP_CHECKPOINT={folder}")


if __name__ == "__main__":
    main()
