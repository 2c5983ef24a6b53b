"""The HTTP API in-process (lifespan run): every endpoint, every bad input, micro-batching."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.encoder.conftest import encode, photo
from tests.encoder.test_images import png_header_only

pytestmark = pytest.mark.usefixtures("app_env")


def post_image(client: TestClient, data: bytes, name: str = "photo.jpg", ctype: str = "image/jpeg"):
    return client.post("/encode/image", files={"file": (name, data, ctype)})


def test_readyz_is_503_until_the_model_is_loaded(app_env) -> None:
    from services.encoder.app import create_app

    unstarted = TestClient(create_app())  # no `with`: the lifespan has not run
    response = unstarted.get("/readyz")
    assert response.status_code == 503
    assert unstarted.get("/info").status_code == 503


def test_readyz_and_health_when_loaded(client: TestClient) -> None:
    assert client.get("/readyz").status_code == 200
    assert client.get("/healthz").json()["service"] == "encoder"
    assert "pixelplay_encoder_batch_items" in client.get("/metrics").text


def test_info_describes_the_demo_model(client: TestClient) -> None:
    info = client.get("/info").json()
    assert set(info) >= {"model", "pretrained", "checkpoint", "is_pretrained", "dim", "model_id"}
    assert info["dim"] == 512 and info["is_pretrained"] is False
    assert info["model_id"].startswith("local:tiny-random-seed0:")
    # The default quantisation is "auto": fp32, or the int8 image tower on a VNNI CPU.
    assert info["runtime"] == client.app.state.encoder.encoder.runtime
    assert info["runtime"] in {"onnx", "onnx-int8-image"}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_encode_image_returns_a_unit_vector(client: TestClient, fmt: str) -> None:
    response = post_image(client, encode(photo(), fmt))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dim"] == len(body["vector"]) == 512
    assert body["model_id"] == client.get("/info").json()["model_id"]
    assert abs(np.linalg.norm(body["vector"]) - 1) < 1e-5


def test_type_is_judged_by_content_not_name(client: TestClient) -> None:
    png = encode(photo(), "PNG")
    as_text = post_image(client, png, name="notes.txt", ctype="text/plain")
    assert as_text.status_code == 200
    as_png = post_image(client, png, name="photo.png", ctype="image/png")
    assert as_text.json()["vector"] == as_png.json()["vector"]
    fake = post_image(client, b"GIF89a-but-not-really" * 5, name="photo.jpg", ctype="image/jpeg")
    assert fake.status_code == 400


@pytest.mark.parametrize(
    "data,status,words",
    [
        (b"", 400, "empty"),
        (b"hello, I am not a picture" * 4, 400, "not an image"),
        (encode(photo((40, 40)), "TIFF"), 415, "TIFF"),
        (encode(photo((40, 40)), "BMP"), 415, "BMP"),
        (encode(photo((400, 300)), "JPEG")[:3000], 400, "truncated"),
        (png_header_only(50_000, 50_000), 413, "pixels"),
        (encode(Image.new("RGB", (1500, 1400), (20, 40, 90)), "PNG"), 413, "pixels"),  # 2.1 M > 2 M limit
    ],
    ids=["empty", "text", "tiff", "bmp", "truncated", "bomb", "too-many-pixels"],
)
def test_bad_images_get_a_clear_4xx(client: TestClient, data: bytes, status: int, words: str) -> None:
    response = post_image(client, data)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]


def test_too_many_bytes_is_413(client: TestClient) -> None:
    noisy = np.random.default_rng(0).integers(0, 256, (500, 500, 3), dtype=np.uint8)
    data = encode(Image.fromarray(noisy), "PNG")  # ~750 kB, over the 400 kB test limit
    assert len(data) > 400_000
    response = post_image(client, data)
    assert response.status_code == 413 and "limit is 400,000 bytes" in response.json()["detail"]


def test_huge_upload_is_refused_from_its_content_length(client: TestClient) -> None:
    response = post_image(client, b"\xff\xd8\xff" + b"\0" * 2_000_000)
    assert response.status_code == 413 and "upload is" in response.json()["detail"]


def test_missing_file_field_is_422(client: TestClient) -> None:
    response = client.post("/encode/image", data={"other": "x"})
    assert response.status_code == 422


def test_encode_texts_in_order_and_unit_length(client: TestClient) -> None:
    texts = ["a calm song", "an intense song", "a calm song"]
    body = client.post("/encode/texts", json={"texts": texts}).json()
    vectors = np.array(body["vectors"])
    assert vectors.shape == (3, body["dim"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert body["vectors"][0] == body["vectors"][2] != body["vectors"][1]
    alone = client.post("/encode/texts", json={"texts": ["an intense song"]}).json()["vectors"][0]
    assert float(np.dot(alone, vectors[1])) > 0.99999


@pytest.mark.parametrize(
    "payload,words",
    [
        ({"texts": []}, "empty"),
        ({"texts": ["fine", "   "]}, "texts[1] is empty"),
        ({"texts": ["x"] * 9}, "at most 8"),
        ({"texts": ["y" * 201]}, "limit is 200"),
    ],
    ids=["empty-list", "blank-text", "too-many", "too-long"],
)
def test_bad_texts_get_422_with_a_message(client: TestClient, payload: dict, words: str) -> None:
    response = client.post("/encode/texts", json=payload)
    assert response.status_code == 422
    assert words in response.json()["detail"]


@pytest.mark.parametrize("payload", [{"texts": "one string"}, {"text": ["x"]}, {"texts": [1, 2]}, []])
def test_malformed_text_bodies_are_422(client: TestClient, payload) -> None:
    assert client.post("/encode/texts", json=payload).status_code == 422


def test_concurrent_uploads_share_forward_passes(client: TestClient) -> None:
    images = [encode(photo(seed=i), "JPEG") for i in range(8)]
    single = [post_image(client, data).json()["vector"] for data in images]
    batcher = client.app.state.encoder.images
    before = len(batcher.batch_sizes)
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda data: post_image(client, data).json()["vector"], images))
    passes = batcher.batch_sizes[before:]
    assert sum(passes) == 8
    assert len(passes) < 8, f"no batching happened: {passes}"
    # int8 quantises each forward pass with one activation scale, so a photo's vector moves by
    # ~1e-5 with the photos it shares a pass with; fp32 vectors do not depend on the batch.
    tolerance = 1e-4 if "int8" in client.app.state.encoder.encoder.runtime else 1e-5
    for alone, batched in zip(single, together, strict=True):
        assert float(np.dot(alone, batched)) > 1 - tolerance


def test_concurrent_text_requests_share_forward_passes(client: TestClient) -> None:
    requests = [[f"song number {i}", "a shared text"] for i in range(6)]
    batcher = client.app.state.encoder.texts
    before = len(batcher.batch_sizes)
    with ThreadPoolExecutor(6) as pool:
        bodies = list(pool.map(lambda t: client.post("/encode/texts", json={"texts": t}).json(), requests))
    passes = batcher.batch_sizes[before:]
    assert sum(passes) == 6 and len(passes) < 6
    shared = [np.array(b["vectors"][1]) for b in bodies]
    assert all(float(np.dot(shared[0], s)) > 0.99999 for s in shared)
    first_alone = client.post("/encode/texts", json={"texts": requests[3]}).json()["vectors"][0]
    assert float(np.dot(first_alone, bodies[3]["vectors"][0])) > 0.99999
