"""The encoder as a real process (uvicorn) driven through EncoderClient, as search and the indexer use it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from services.common.clients.encoder import EncoderClient
from services.common.http import ServiceError
from services.common.settings import CommonSettings
from tests.encoder.conftest import encode, photo
from tests.processes import running_service


@pytest.fixture(scope="module")
def encoder_url(tiny_model_dir: Path, encoder_data_dir: Path) -> Iterator[str]:
    env = {
        "PIXELPLAY_ENCODER_CLIP_CHECKPOINT": str(tiny_model_dir),
        "PIXELPLAY_DATA_DIR": str(encoder_data_dir),  # shares the session's cached ONNX export
        "PIXELPLAY_LOG_JSON": "false",
        "PIXELPLAY_LOG_LEVEL": "WARNING",
    }
    with running_service("services.encoder.app:app", env, ready_path="/readyz", timeout_s=120) as url:
        yield url


@pytest.fixture
def client(encoder_url: str) -> Iterator[EncoderClient]:
    with EncoderClient(encoder_url, settings=CommonSettings(http_retries=1)) as c:
        yield c


def test_info_and_ready(client: EncoderClient) -> None:
    assert client.ready()
    info = client.info()
    assert info.dim == 512 and info.is_pretrained is False
    assert info.model_id.startswith("local:tiny-random-seed0:")


def test_image_and_text_vectors(client: EncoderClient) -> None:
    vector = client.encode_image(encode(photo(), "JPEG"), "sunset.jpg", "image/jpeg")
    assert len(vector) == 512 and abs(np.linalg.norm(vector) - 1) < 1e-5
    assert client.encode_image(encode(photo(), "JPEG")) == vector  # deterministic


def test_texts_are_chunked_and_kept_in_order(client: EncoderClient) -> None:
    texts = [f"song {i}" for i in range(5)]
    chunked = client.encode_texts(texts, chunk_size=2)  # three requests
    whole = client.encode_texts(texts)
    assert len(chunked) == 5
    for a, b in zip(chunked, whole, strict=True):
        assert float(np.dot(a, b)) > 0.99999


def test_bad_input_raises_service_error_with_the_message(client: EncoderClient) -> None:
    with pytest.raises(ServiceError) as info:
        client.encode_image(encode(photo((40, 40)), "BMP"), "scan.bmp", "image/bmp")
    assert info.value.status == 415 and "BMP" in info.value.detail
    with pytest.raises(ServiceError) as info:
        client.encode_texts(["  "])
    assert info.value.status == 422 and "empty" in info.value.detail


def test_unreachable_encoder_is_not_ready() -> None:
    from services.common.embedded import free_port

    with EncoderClient(f"http://127.0.0.1:{free_port()}", settings=CommonSettings(http_retries=1)) as c:
        assert c.ready() is False
