"""Images and texts → L2-normalised CLIP vectors, with the text tricks that make indexing fast.

Text batches: identical texts are encoded once; texts are sorted by token length so each forward
pass holds similar lengths; each pass is cut just after its longest end-of-text token (valid for
CLIP's causal text tower, see ``towers.TextTower``). Together these make catalog indexing several
times faster than encoding every song's 77-token row.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch

from services.encoder.images import probe_pixels
from services.encoder.memory import release_torch_model
from services.encoder.model_loading import LoadedClip, load_clip
from services.encoder.onnx_files import onnx_folder
from services.encoder.settings import EncoderSettings
from services.encoder.towers import OnnxTowers, TorchTowers, Towers, build_onnx_towers

log = logging.getLogger(__name__)


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 length (float32); an all-zero row stays zero instead of NaN."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def eot_positions(
    tokens: np.ndarray, pool_type: str = "argmax", eos_token_id: int | None = None
) -> np.ndarray:
    """Index of the token the text tower reads, per row: the highest id (EOT) for CLIP's 'argmax'."""
    if pool_type == "eos" and eos_token_id is not None:
        return (tokens == eos_token_id).argmax(axis=1)
    return tokens.argmax(axis=1)


@dataclass(frozen=True)
class TextBatch:
    rows: np.ndarray  # indices into the unique-text array
    length: int  # tokens kept per row


def plan_text_batches(eot: np.ndarray, batch_size: int, context: int, can_trim: bool) -> list[TextBatch]:
    """Group rows by length (shortest first) into passes of ``batch_size``, each cut after its longest EOT."""
    order = np.argsort(eot, kind="stable")
    batches = []
    for start in range(0, len(order), max(1, batch_size)):
        rows = order[start : start + batch_size]
        length = int(eot[rows].max()) + 1 if can_trim else context
        batches.append(TextBatch(rows=rows, length=min(length, context)))
    return batches


@dataclass
class ForwardStats:
    """What the encoder did, for tests and /metrics-style introspection."""

    image_batches: list[int] = field(default_factory=list)  # images per forward pass (last 1000)
    text_passes: int = 0
    texts_requested: int = 0
    texts_encoded: int = 0  # after de-duplication

    def record_images(self, n: int) -> None:
        self.image_batches.append(n)
        del self.image_batches[:-1000]


class ClipEncoder:
    """A loaded model and its runtime. Thread-safe: forward passes run one at a time, because with
    2 cores two concurrent passes only slow each other down."""

    def __init__(self, clip: LoadedClip, towers: Towers, text_batch_size: int = 64):
        self.clip = clip
        self.towers = towers
        self.text_batch_size = text_batch_size
        self.stats = ForwardStats()
        # RSS in bytes before and after the torch model was dropped (ONNX runtime only).
        self.released: tuple[int, int] | None = None
        self._lock = threading.Lock()
        model = clip.model
        self.context_length = int(getattr(model, "context_length", 77))
        self._pool_type = getattr(model, "text_pool_type", "argmax")
        self._eos_id = getattr(model, "text_eos_id", None)
        self.dim = int(self.encode_texts(["a photo"]).shape[1])  # from the model, never hard-coded
        self.stats = ForwardStats()  # the probe above is not traffic

    @property
    def model_id(self) -> str:
        return self.clip.model_id

    @property
    def runtime(self) -> str:
        return self.towers.name

    def encode_pixels(self, batch: list[np.ndarray]) -> np.ndarray:
        """Preprocessed images ([3,H,W] each) → [n, dim] unit vectors, in one forward pass."""
        pixels = np.ascontiguousarray(np.stack(batch).astype(np.float32, copy=False))
        with self._lock:
            out = self.towers.image(pixels)
            self.stats.record_images(len(batch))
        return normalise(out)

    def tokenize(self, texts: list[str]) -> np.ndarray:
        tokens = self.clip.tokenizer(texts)
        return tokens.numpy() if isinstance(tokens, torch.Tensor) else np.asarray(tokens)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Texts → [n, dim] unit vectors in input order; duplicates are encoded once."""
        unique = list(dict.fromkeys(texts))
        where = {text: i for i, text in enumerate(unique)}
        tokens = self.tokenize(unique).astype(np.int64, copy=False)
        eot = eot_positions(tokens, self._pool_type, self._eos_id)
        can_trim = getattr(self.towers, "can_trim", False)
        out = np.empty((len(unique), 0), dtype=np.float32)
        for batch in plan_text_batches(eot, self.text_batch_size, tokens.shape[1], can_trim):
            rows = np.ascontiguousarray(tokens[batch.rows, : batch.length])
            with self._lock:
                vectors = self.towers.text(rows)
                self.stats.text_passes += 1
            if out.shape[1] == 0:
                out = np.empty((len(unique), vectors.shape[1]), dtype=np.float32)
            out[batch.rows] = vectors
        self.stats.texts_requested += len(texts)
        self.stats.texts_encoded += len(unique)
        return normalise(out)[[where[t] for t in texts]]


def build_encoder(settings: EncoderSettings) -> ClipEncoder:
    """Load the configured model and runtime (exporting ONNX on first use). Raises ``ModelLoadError``."""
    started = time.perf_counter()
    torch.set_num_threads(max(1, settings.torch_threads))
    clip = load_clip(settings)
    towers: Towers
    if settings.runtime == "onnx":
        folder = onnx_folder(settings.data_dir, clip.model_id)
        probe = partial(probe_pixels, clip.preprocess)  # made only if "auto" has a VNNI CPU to check
        towers = build_onnx_towers(
            clip.model,
            folder,
            settings.torch_threads,
            settings.quantize,
            probe,
            settings.int8_min_cosine,
        )
    else:
        towers = TorchTowers(clip.model)
    encoder = ClipEncoder(clip, towers, settings.text_batch_size)
    if settings.runtime == "onnx":
        # The towers are self-contained ONNX sessions from here on.
        encoder.released = release_torch_model(clip)
    log.info(
        "encoder ready: model_id=%s runtime=%s dim=%d in %.1fs",
        clip.model_id,
        towers.name,
        encoder.dim,
        time.perf_counter() - started,
    )
    return encoder


__all__ = ["ClipEncoder", "OnnxTowers", "TorchTowers", "build_encoder", "normalise", "plan_text_batches"]
