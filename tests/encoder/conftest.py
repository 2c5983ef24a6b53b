"""Fixtures for the encoder tests: synthetic photos, the tiny model loaded once, a live app."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from services.common.settings import load_settings
from services.encoder.settings import EncoderSettings


def photo(size: tuple[int, int] = (320, 240), seed: int = 0, mode: str = "RGB") -> Image.Image:
    """A deterministic synthetic photo: colour gradient, shapes and some texture."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack(
        [
            255 * x / max(w - 1, 1),
            255 * y / max(h - 1, 1),
            127 + 120 * np.sin((x + y) / (10 + 5 * seed)),
        ],
        axis=-1,
    )
    base += rng.normal(0, 12, base.shape)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(5):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(5, max(6, min(w, h) // 3)))
        draw.ellipse([x0 - r, y0 - r, x0 + r, y0 + r], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    return image.convert(mode) if mode != "RGB" else image


def encode(image: Image.Image, fmt: str, **save_args) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **save_args)
    return out.getvalue()


def settings_for(tiny_model_dir: Path, data_dir: Path, **overrides) -> EncoderSettings:
    return EncoderSettings(clip_checkpoint=tiny_model_dir, data_dir=data_dir, log_json=False, **overrides)


@pytest.fixture(scope="session")
def encoder_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the session, so the tiny model's ONNX export happens once."""
    return tmp_path_factory.mktemp("encoder-var")


@pytest.fixture(scope="session")
def onnx_encoder(tiny_model_dir: Path, encoder_data_dir: Path):
    from services.encoder.encoding import build_encoder

    # fp32: the ONNX parity reference ("auto" may pick the int8 image tower, tested on its own).
    settings = settings_for(tiny_model_dir, encoder_data_dir, runtime="onnx", quantize="none")
    return build_encoder(settings)


@pytest.fixture(scope="session")
def plain_model(tiny_model_dir: Path, encoder_data_dir: Path):
    """Plain open_clip with the same weights, the parity reference: an ONNX encoder no longer
    holds its torch model."""
    from services.encoder.model_loading import load_clip

    return load_clip(settings_for(tiny_model_dir, encoder_data_dir)).model


@pytest.fixture(scope="session")
def torch_encoder(tiny_model_dir: Path, encoder_data_dir: Path):
    from services.encoder.encoding import build_encoder

    return build_encoder(settings_for(tiny_model_dir, encoder_data_dir, runtime="torch"))


@pytest.fixture(scope="module")
def app_env(tiny_model_dir: Path, encoder_data_dir: Path) -> Iterator[dict[str, str]]:
    """Environment for an encoder app with the tiny model; small limits so the 413s are cheap."""
    env = {
        "PIXELPLAY_ENCODER_CLIP_CHECKPOINT": str(tiny_model_dir),
        "PIXELPLAY_DATA_DIR": str(encoder_data_dir),
        "PIXELPLAY_LOG_JSON": "false",
        "PIXELPLAY_LOG_LEVEL": "WARNING",
        "PIXELPLAY_ENCODER_MAX_IMAGE_BYTES": str(400_000),
        "PIXELPLAY_ENCODER_MAX_IMAGE_PIXELS": str(2_000_000),
        "PIXELPLAY_ENCODER_MAX_TEXTS": "8",
        "PIXELPLAY_ENCODER_MAX_TEXT_CHARS": "200",
        # A wide batching window makes "concurrent requests share a pass" observable in tests.
        "PIXELPLAY_ENCODER_BATCH_MAX_WAIT_MS": "150",
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        load_settings.cache_clear()
        yield env
    load_settings.cache_clear()


@pytest.fixture(scope="module")
def client(app_env: dict[str, str]) -> Iterator[TestClient]:
    """The encoder app with its lifespan run (model loaded, batchers started)."""
    from services.encoder.app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client
