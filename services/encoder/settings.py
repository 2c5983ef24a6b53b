"""The encoder's settings: ``PIXELPLAY_ENCODER_<FIELD>`` (docs/configuration.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import CommonSettings, load_settings


class EncoderSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="PIXELPLAY_ENCODER_")

    clip_model: str = "ViT-B-32"
    clip_pretrained: str = "laion2b_s34b_b79k"
    # A local checkpoint: a ``local-dir`` folder (open_clip_config.json + open_clip_model.bin)
    # or a weights file for ``clip_model``. When set it wins over ``clip_pretrained``.
    clip_checkpoint: Path | None = None
    torch_threads: int = 2
    batch_max_size: int = 16
    batch_max_wait_ms: float = 4.0
    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    max_texts: int = 256
    max_text_chars: int = 1000
    # "onnx": ONNX Runtime towers exported once into data_dir/encoder/onnx (faster on CPU);
    # "torch": plain open_clip modules. Both give the same vectors (parity tested).
    runtime: Literal["onnx", "torch"] = "onnx"
    # "auto": the image tower runs int8 when the CPU has VNNI and int8 stays within
    # int8_min_cosine of fp32 on probe images at start-up, else fp32; texts stay fp32.
    # "int8": both towers int8 (vectors drift, see docs/benchmarks.md); "none": fp32 only.
    quantize: Literal["auto", "none", "int8"] = "auto"
    int8_min_cosine: float = Field(default=0.999, gt=0, le=1)
    text_batch_size: int = 64  # texts per forward pass inside one /encode/texts call
    max_queue: int = 256  # queued encode requests beyond this get 503 + Retry-After
    # Decode JPEGs at a reduced DCT scale that still covers the model input (2-3x faster decode;
    # vectors within 1e-4 cosine of a full decode, see docs/benchmarks.md). False: exact open_clip.
    jpeg_draft: bool = True
    decode_concurrency: int = 2  # images decoded at once; bounds decode memory


def get_settings() -> EncoderSettings:
    return load_settings(EncoderSettings)
