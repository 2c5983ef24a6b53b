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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)

# Bump when the exported graphs change, so stale cached files are not reused.
EXPORT_VERSION = "4"
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


class ImageTower(nn.Module):
    """open_clip ``VisionTransformer.forward`` for 'tok' pooling, with the last block on the class token only.

    Only the class token's output is read, so the last block needs keys and values for every
    token but queries, attention output, out-projection and MLP for that one token: the same
    numbers with about 1/14 less arithmetic (ViT-B-32: 50 tokens → 1 in 82 % of the last block).
    """

    def __init__(self, visual: nn.Module):
        super().__init__()
        self.visual = visual
        self.blocks = visual.transformer.resblocks

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        visual = self.visual
        x = visual._embeds(pixels)
        for block in self.blocks[:-1]:
            x = x + block.ls_1(_masked_self_attention(block.attn, block.ln_1(x), None))
            x = x + block.ls_2(block.mlp(block.ln_2(x)))
        last = self.blocks[-1]
        x = x[:, :1] + last.ls_1(_class_token_attention(last.attn, last.ln_1(x)))
        x = x + last.ls_2(last.mlp(last.ln_2(x)))
        pooled = visual.ln_post(x[:, 0])  # LayerNorm is per token: before or after pooling is the same
        return pooled @ visual.proj


def _class_token_attention(attn: nn.MultiheadAttention, x: torch.Tensor) -> torch.Tensor:
    """Row 0 of ``_masked_self_attention(attn, x, None)``: [B, 1, D], queries from token 0 only."""
    batch, width = x.shape[0], x.shape[2]
    heads, head_dim = attn.num_heads, width // attn.num_heads
    w_q, w_kv = attn.in_proj_weight.split([width, 2 * width])
    b_q, b_kv = attn.in_proj_bias.split([width, 2 * width])
    q = nn.functional.linear(x[:, :1], w_q, b_q).reshape(batch, 1, heads, head_dim).transpose(1, 2)
    kv = nn.functional.linear(x, w_kv, b_kv).reshape(batch, -1, 2, heads, head_dim).permute(2, 0, 3, 1, 4)
    scores = (q * head_dim**-0.5) @ kv[0].transpose(-2, -1)  # [B, H, 1, L]
    out = (scores.softmax(dim=-1) @ kv[1]).transpose(1, 2).reshape(batch, 1, width)
    return attn.out_proj(out)


def image_tower(visual: nn.Module) -> nn.Module:
    """``ImageTower`` for a plain CLIP ViT with class-token pooling, else the model's own visual tower."""
    plain_vit = (
        all(hasattr(visual, a) for a in ("_embeds", "transformer", "ln_post", "proj"))
        and getattr(visual, "pool_type", None) == "tok"
        and getattr(visual, "attn_pool", None) is None
        and not getattr(visual, "output_tokens", False)
        and visual.proj is not None
        and getattr(visual.transformer, "batch_first", False)
        and all(_plain_block(block) for block in visual.transformer.resblocks)
    )
    return ImageTower(visual).eval() if plain_vit else visual.eval()


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
    # session's spinning workers slowed the next run of the other (or of torch) by 5-30 % in A/B runs.
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


_export_lock = threading.Lock()


def onnx_folder(data_dir: Path, model_id: str) -> Path:
    """Cache folder for one model's exported towers, keyed by model_id and the export version."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id).strip("_")
    return Path(data_dir) / "encoder" / "onnx" / f"{slug}-v{EXPORT_VERSION}-torch{torch.__version__}"


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
    with _plain_attention(blocks):  # for a visual tower ImageTower does not cover
        example = torch.zeros(2, 3, height, width)
        image_path = _exported(image_tower(visual), example, folder / "image.onnx", "pixels", {0: "batch"})
    # Dynamic length axis only when trimming is valid; the full tower always gets `context` tokens.
    text_axes = {0: "batch", 1: "length"} if can_trim else {0: "batch"}
    example_tokens = torch.ones(2, context if not can_trim else 8, dtype=torch.long)
    text_path = _exported(text_module, example_tokens, folder / "text.onnx", "tokens", text_axes)
    if quantize == "int8":
        signed = cpu_has_vnni()
        image, name = onnx_session(_quantized(image_path, signed), threads), "onnx-int8"
        text_path = _quantized(text_path, signed)
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
        int8 = onnx_session(_quantized(fp32_path, signed=True), threads)
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


def _quantized(path: Path, signed: bool) -> Path:
    """``path`` with its MatMuls dynamically quantised to int8 (cached beside it).

    The final projection (the MatMul that writes the output) stays fp32, and so does the patch
    Conv: on ViT-B-32 that cut the int8 drift about 3x (min cosine to fp32 0.99981 → 0.99994) for
    no measurable time, since both see one token or run once.
    Signed weights (u8 activations x s8 weights) run on VNNI. Without VNNI, ORT's u8s8 kernels can
    saturate, which cost ~10x more cosine drift than u8u8 in our measurement, so weights are unsigned.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = path.with_name(f"{path.stem}-int8-{'s8' if signed else 'u8'}.onnx")
    with _export_lock:
        if not target.is_file():
            graph = onnx.load(str(path), load_external_data=False).graph
            outputs = {output.name for output in graph.output}
            projection = [node.name for node in graph.node if outputs.intersection(node.output)]
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".onnx.tmp")
            os.close(fd)
            try:
                quantize_dynamic(
                    str(path),
                    tmp,
                    weight_type=QuantType.QInt8 if signed else QuantType.QUInt8,
                    op_types_to_quantize=["MatMul"],
                    nodes_to_exclude=projection,
                )
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    return target
