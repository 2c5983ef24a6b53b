"""The two CLIP towers behind one small interface, run by PyTorch or by ONNX Runtime.

``image(pixels [B,3,H,W] float32) -> [B,D]`` and ``text(tokens [B,L] int64) -> [B,D]`` return raw
(un-normalised) embeddings. ``tower_modules`` holds the exportable modules and ``onnx_files`` the
exported files, made once per model_id into ``data_dir/encoder/onnx``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from services.encoder.onnx_files import exported, quantized
from services.encoder.tower_modules import image_tower, plain_attention, text_tower

log = logging.getLogger(__name__)


class Towers(Protocol):
    name: str  # "torch" | "onnx" | "onnx-int8"

    def image(self, pixels: np.ndarray) -> np.ndarray: ...

    def text(self, tokens: np.ndarray) -> np.ndarray: ...


class TorchTowers:
    """Plain PyTorch, ``inference_mode``; the reference every other runtime is checked against."""

    name = "torch"

    def __init__(self, clip: nn.Module):
        self.visual = clip.visual.eval()
        self.text_module, self.can_trim = text_tower(clip)

    def image(self, pixels: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.visual(torch.from_numpy(pixels)).float().numpy()

    def text(self, tokens: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.text_module(torch.from_numpy(tokens)).float().numpy()


class OnnxTowers:
    """ONNX Runtime sessions for both towers (fp32, or int8 dynamically quantised)."""

    def __init__(self, image: Any, text: Any, can_trim: bool, name: str):
        self.name = name
        self.can_trim = can_trim
        self._image = image  # onnxruntime.InferenceSession
        self._text = text

    def image(self, pixels: np.ndarray) -> np.ndarray:
        return self._image.run(None, {"pixels": pixels})[0]

    def text(self, tokens: np.ndarray) -> np.ndarray:
        return self._text.run(None, {"tokens": tokens})[0]


def onnx_session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle workers sleep instead of spinning: two sessions (and torch) share the cores, and one
    # session's spinning workers would steal them from the next run of the other (or of torch).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def cpu_has_vnni(cpuinfo: str | None = None) -> bool:
    """True when the CPU has int8 dot-product instructions (AVX512-VNNI or AVX-VNNI).

    With them ONNX Runtime's int8 MatMuls run about twice as fast as fp32 on ViT-B-32; without
    them int8 is barely faster (docs/benchmarks.md).
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    return re.search(r"\b(avx512_vnni|avx_vnni)\b", cpuinfo) is not None


def build_onnx_towers(
    clip: nn.Module,
    folder: Path,
    threads: int,
    quantize: str = "none",
    probe: Callable[[], np.ndarray] | None = None,
    min_cosine: float = 0.999,
) -> OnnxTowers:
    """Export (first time only) and open both towers from ``folder``.

    ``quantize``: "none" (fp32), "int8" (both towers), or "auto": the image tower in int8 only
    when this CPU has VNNI and, on every image ``probe()`` returns, the int8 vector stays within
    ``min_cosine`` of the fp32 one; the text tower (the catalog index) stays fp32. ``probe`` is
    called only on a VNNI CPU: making the images takes about 0.5 s.
    """
    visual = clip.visual.eval()
    text_module, can_trim = text_tower(clip)
    size = visual.image_size
    height, width = (size, size) if isinstance(size, int) else size
    context = int(clip.positional_embedding.shape[0]) if hasattr(clip, "positional_embedding") else 77
    blocks = getattr(getattr(visual, "transformer", None), "resblocks", [])
    with plain_attention(blocks):  # for a visual tower ImageTower does not cover
        example = torch.zeros(2, 3, height, width)
        image_path = exported(image_tower(visual), example, folder / "image.onnx", "pixels", {0: "batch"})
    # Dynamic length axis only when trimming is valid; the full tower always gets `context` tokens.
    text_axes = {0: "batch", 1: "length"} if can_trim else {0: "batch"}
    example_tokens = torch.ones(2, context if not can_trim else 8, dtype=torch.long)
    text_path = exported(text_module, example_tokens, folder / "text.onnx", "tokens", text_axes)
    if quantize == "int8":
        signed = cpu_has_vnni()
        image, name = onnx_session(quantized(image_path, signed), threads), "onnx-int8"
        text_path = quantized(text_path, signed)
    elif quantize == "auto":
        image, name = _auto_image_session(image_path, probe, threads, min_cosine)
    else:
        image, name = onnx_session(image_path, threads), "onnx"
    return OnnxTowers(image, onnx_session(text_path, threads), can_trim, name)


def _auto_image_session(
    fp32_path: Path, probe: Callable[[], np.ndarray] | None, threads: int, min_cosine: float
) -> tuple[Any, str]:
    """(session, runtime name) for "auto": the int8 image tower when this CPU has VNNI and int8
    kept parity on the probe images, else the fp32 one."""
    fp32 = onnx_session(fp32_path, threads)
    if not cpu_has_vnni():
        log.info("image tower stays fp32: this CPU has no VNNI, so int8 would not be faster")
        return fp32, "onnx"
    images = probe() if probe is not None else None
    if images is None or len(images) == 0:
        log.info("image tower stays fp32: no probe images to check int8 parity on")
        return fp32, "onnx"
    try:
        int8 = onnx_session(quantized(fp32_path, signed=True), threads)
        reference = fp32.run(None, {"pixels": images})[0]
        candidate = int8.run(None, {"pixels": images})[0]
    except Exception:  # an optional speed-up must never stop the encoder from starting
        log.warning("image tower stays fp32: int8 quantisation failed", exc_info=True)
        return fp32, "onnx"
    cosines = (reference * candidate).sum(axis=1) / (
        np.linalg.norm(reference, axis=1) * np.linalg.norm(candidate, axis=1) + 1e-12
    )
    worst = float(cosines.min())
    if worst < min_cosine:
        log.warning(
            "image tower stays fp32: int8 min cosine %.6f < %.6f over %d probe images",
            worst,
            min_cosine,
            len(images),
        )
        return fp32, "onnx"
    log.info("image tower runs int8: min cosine %.6f to fp32 over %d probe images", worst, len(images))
    return int8, "onnx-int8-image"
