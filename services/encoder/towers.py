"""The two CLIP towers behind one small interface, run by PyTorch or by ONNX Runtime.

``image(pixels [B,3,H,W] float32) -> [B,D]`` and ``text(tokens [B,L] int64) -> [B,D]`` return raw
(un-normalised) embeddings. The text tower accepts token rows cut to any length L that still holds
every row's end-of-text token: CLIP's text attention is causal and only the EOT position is read,
so the padding after it never influences the result (parity is tested against open_clip).

ONNX files are exported once per model_id into ``data_dir/encoder/onnx`` and reused on later starts.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import types
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)

# Bump when the exported graphs change, so stale cached files are not reused.
EXPORT_VERSION = "2"
ONNX_OPSET = 17


class Towers(Protocol):
    name: str  # "torch" | "onnx" | "onnx-int8"

    def image(self, pixels: np.ndarray) -> np.ndarray: ...

    def text(self, tokens: np.ndarray) -> np.ndarray: ...


class TextTower(nn.Module):
    """open_clip ``CLIP.encode_text`` (un-normalised) for token rows of any length L ≤ context.

    Same modules and weights. The positional embedding and causal mask are sliced to L, and the
    attention is written out (same math as ``nn.MultiheadAttention``) because the traced
    ``nn.MultiheadAttention`` bakes the example's sequence length into the ONNX graph.
    """

    def __init__(self, clip: nn.Module):
        super().__init__()
        self.token_embedding = clip.token_embedding
        self.positional_embedding = clip.positional_embedding
        self.blocks = clip.transformer.resblocks
        self.ln_final = clip.ln_final
        self.text_projection = clip.text_projection
        self.register_buffer("attn_mask", clip.attn_mask, persistent=False)
        self.pool_type = clip.text_pool_type
        self.eos_token_id = getattr(clip, "text_eos_id", None)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        from open_clip.model import text_global_pool

        length = tokens.shape[1]
        x = self.token_embedding(tokens)
        x = x + self.positional_embedding[:length]
        mask = self.attn_mask[:length, :length]
        for block in self.blocks:
            x = x + block.ls_1(_masked_self_attention(block.attn, block.ln_1(x), mask))
            x = x + block.ls_2(block.mlp(block.ln_2(x)))
        x = self.ln_final(x)
        x = text_global_pool(x, tokens, self.pool_type, eos_token_id=self.eos_token_id)
        if isinstance(self.text_projection, nn.Linear):
            return self.text_projection(x)
        return x @ self.text_projection


def _masked_self_attention(
    attn: nn.MultiheadAttention, x: torch.Tensor, mask: torch.Tensor | None
) -> torch.Tensor:
    """``attn(x, x, x, attn_mask=mask)`` for batch-first x [B, L, D], as plain tensor ops."""
    batch, width = x.shape[0], x.shape[2]
    heads = attn.num_heads
    qkv = nn.functional.linear(x, attn.in_proj_weight, attn.in_proj_bias)
    # [B, L, 3, H, d] -> 3 x [B, H, L, d]; -1 keeps the length symbolic in the exported graph.
    qkv = qkv.reshape(batch, -1, 3, heads, width // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    scores = (q * (width // heads) ** -0.5) @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores + mask
    out = scores.softmax(dim=-1) @ v  # [B, H, L, d]
    out = out.transpose(1, 2).reshape(batch, -1, width)
    return attn.out_proj(out)


class FullTextTower(nn.Module):
    """Fallback for text towers whose output may depend on padding (e.g. 'last' pooling)."""

    def __init__(self, clip: nn.Module):
        super().__init__()
        self.clip = clip

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.clip.encode_text(tokens)


def text_tower(clip: nn.Module) -> tuple[nn.Module, bool]:
    """(module, can_trim): the EOT-trimmed tower when the model allows it, else the full one."""
    trimmable = (
        all(hasattr(clip, a) for a in ("token_embedding", "positional_embedding", "attn_mask", "transformer"))
        and getattr(clip, "text_pool_type", None) in ("argmax", "eos")
        and clip.attn_mask is not None
        and getattr(clip.transformer, "batch_first", False)
        and all(_plain_block(block) for block in clip.transformer.resblocks)
    )
    return (TextTower(clip).eval(), True) if trimmable else (FullTextTower(clip).eval(), False)


def _plain_block(block: nn.Module) -> bool:
    """A standard CLIP residual block (what ``TextTower`` re-implements): packed qkv, no extras."""
    attn = getattr(block, "attn", None)
    return (
        isinstance(attn, nn.MultiheadAttention)
        and attn.in_proj_weight is not None
        and attn.batch_first
        and not hasattr(block, "ln_1_kv")
        and isinstance(getattr(block, "ln_attn", nn.Identity()), nn.Identity)
        and all(hasattr(block, a) for a in ("ln_1", "ls_1", "ln_2", "mlp", "ls_2"))
    )


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
    """ONNX Runtime sessions for both towers (optionally int8 dynamically quantised)."""

    def __init__(self, image_path: Path, text_path: Path, threads: int, can_trim: bool, name: str):
        import onnxruntime as ort

        def session(path: Path) -> Any:
            options = ort.SessionOptions()
            options.intra_op_num_threads = max(1, threads)
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        self.name = name
        self.can_trim = can_trim
        self._image = session(image_path)
        self._text = session(text_path)

    def image(self, pixels: np.ndarray) -> np.ndarray:
        return self._image.run(None, {"pixels": pixels})[0]

    def text(self, tokens: np.ndarray) -> np.ndarray:
        return self._text.run(None, {"tokens": tokens})[0]


_export_lock = threading.Lock()


def onnx_folder(data_dir: Path, model_id: str) -> Path:
    """Cache folder for one model's exported towers, keyed by model_id and the export version."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id).strip("_")
    return Path(data_dir) / "encoder" / "onnx" / f"{slug}-v{EXPORT_VERSION}-torch{torch.__version__}"


def build_onnx_towers(clip: nn.Module, folder: Path, threads: int, quantize: str = "none") -> OnnxTowers:
    """Export (first time only) and open both towers from ``folder``."""
    visual = clip.visual.eval()
    text_module, can_trim = text_tower(clip)
    size = visual.image_size
    height, width = (size, size) if isinstance(size, int) else size
    context = int(clip.positional_embedding.shape[0]) if hasattr(clip, "positional_embedding") else 77
    blocks = getattr(getattr(visual, "transformer", None), "resblocks", [])
    with _plain_attention(blocks):
        image_path = _exported(
            visual, torch.zeros(2, 3, height, width), folder / "image.onnx", "pixels", {0: "batch"}
        )
    # Dynamic length axis only when trimming is valid; the full tower always gets `context` tokens.
    text_axes = {0: "batch", 1: "length"} if can_trim else {0: "batch"}
    example_tokens = torch.ones(2, context if not can_trim else 8, dtype=torch.long)
    text_path = _exported(text_module, example_tokens, folder / "text.onnx", "tokens", text_axes)
    name = "onnx"
    if quantize == "int8":
        image_path, text_path = _quantized(image_path), _quantized(text_path)
        name = "onnx-int8"
    return OnnxTowers(image_path, text_path, threads, can_trim, name)


@contextmanager
def _plain_attention(blocks: nn.Module) -> Iterator[None]:
    """While exporting, route each standard block's attention through ``_masked_self_attention``.

    Same math and weights; the traced graph is leaner than the one from ``nn.MultiheadAttention``
    (ViT-B-32, batch 1: about 8% faster in one A/B run on the loaded machine; cosine 1 - 1e-7).
    """
    patched = [block for block in blocks if _plain_block(block)]

    def attention(self, q_x, k_x=None, v_x=None, attn_mask=None):
        return _masked_self_attention(self.attn, q_x, attn_mask)

    for block in patched:
        block.attention = types.MethodType(attention, block)
    try:
        yield
    finally:
        for block in patched:
            del block.attention  # back to the class's method


def _exported(module: nn.Module, example: torch.Tensor, path: Path, input_name: str, axes: dict) -> Path:
    with _export_lock:
        if path.is_file():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        log.info("exporting %s to ONNX (first start for this model)", path.name)
        # Write to a temp file and rename, so a crash or a concurrent start never leaves half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".onnx.tmp")
        os.close(fd)
        try:
            # Grad mode on: under no_grad, nn.MultiheadAttention takes its fused fast path, which
            # has no ONNX export; with grad enabled it traces into plain, exportable ops.
            with warnings.catch_warnings(), torch.inference_mode(False), torch.enable_grad():
                warnings.simplefilter("ignore")
                # The TorchScript exporter: the dynamo one needs onnxscript, which is not installed.
                torch.onnx.export(
                    module,
                    (example,),
                    tmp,
                    dynamo=False,
                    input_names=[input_name],
                    output_names=["embedding"],
                    dynamic_axes={input_name: axes, "embedding": {0: "batch"}},
                    opset_version=ONNX_OPSET,
                )
            os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; other local users may run the service
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path


def _quantized(path: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = path.with_name(path.stem + "-int8.onnx")
    with _export_lock:
        if not target.is_file():
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".onnx.tmp")
            os.close(fd)
            try:
                # Unsigned weights: ORT's u8s8 kernels on AVX2 (no VNNI) can saturate, which cost
                # ~10x more cosine drift than u8u8 in our measurement.
                quantize_dynamic(str(path), tmp, weight_type=QuantType.QUInt8)
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    return target
