"""Search-service fixtures: both storage backends, a deterministic stand-in encoder, a catalog slice.

The stand-in encoder replaces only the HTTP encoder, so these tests exercise the real search
service, the real storage engines and real catalog songs. Its vectors are fixed pseudo-random
functions of the input (same text → same vector); tests/search/test_integration.py runs the real
encoder process with the tiny CLIP checkpoint instead.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from services.common.catalog import build_songs, read_rows
from services.common.contracts.encoder import ModelInfo
from services.common.contracts.songs import Song
from services.common.settings import load_settings
from services.search.settings import SearchSettings, get_settings

DIM = 32
TOKEN = "test-service-token"
BACKENDS = ["edge", "server"]


def pseudo_vector(key: bytes | str, dim: int = DIM) -> list[float]:
    """A unit vector that depends only on ``key``."""
    raw = key.encode() if isinstance(key, str) else key
    seed = int.from_bytes(hashlib.sha256(raw).digest()[:8], "little")
    vec = np.random.default_rng(seed).standard_normal(dim)
    return (vec / np.linalg.norm(vec)).tolist()


class StandInEncoder:
    """The encoder for the indexing job (``info``, ``encode_texts``) and for the search service
    (the ``EncoderGateway`` methods ``image_vector``, ``text_vectors``)."""

    def __init__(self, model_id: str = "test:model-a", dim: int = DIM):
        self.id = model_id
        self.dim = dim
        self.text_calls = 0
        self.image_calls = 0

    def info(self) -> ModelInfo:
        return ModelInfo(
            model="stand-in", pretrained=None, checkpoint=None, is_pretrained=False, dim=self.dim,
            model_id=self.id, runtime="torch",
        )  # fmt: skip

    def encode_image(self, data: bytes, filename: str = "image", content_type: str = "") -> list[float]:
        self.image_calls += 1
        return pseudo_vector(self.id.encode() + b"img" + data, self.dim)

    def encode_texts(self, texts: list[str]) -> list[list[float]]:
        self.text_calls += 1
        return [pseudo_vector(f"{self.id}|{t}", self.dim) for t in texts]

    # --- the EncoderGateway methods: vectors plus the model that made them ---
    def image_vector(self, data: bytes, filename: str, content_type: str) -> tuple[list[float], str]:
        return self.encode_image(data, filename, content_type), self.id

    def text_vectors(self, texts: list[str]) -> tuple[list[list[float]], str]:
        return self.encode_texts(texts), self.id


@pytest.fixture(scope="session")
def catalog_slice() -> list[Song]:
    """About 300 real catalog songs spread over the whole table (every 97th row)."""
    path = get_settings().catalog_path
    rows = itertools.islice(read_rows(Path(path)), 0, None, 97)
    return build_songs(rows)[:300]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@contextmanager
def search_settings(backend: str, folder: Path) -> Iterator[SearchSettings]:
    """Settings for one backend: edge shards in a temp folder, or qdrant-client's local mode."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIXELPLAY_DATA_DIR", str(folder / "var"))
        mp.setenv("PIXELPLAY_SERVICE_TOKEN", TOKEN)
        mp.setenv("PIXELPLAY_LOG_JSON", "false")
        mp.delenv("QDRANT_URL", raising=False)
        mp.delenv("PIXELPLAY_QDRANT_URL", raising=False)
        # No Redis: these apps must not queue enrichment into a real app's Redis (tests that want it
        # set REDIS_URL themselves).
        mp.delenv("REDIS_URL", raising=False)
        mp.delenv("PIXELPLAY_REDIS_URL", raising=False)
        if backend == "server":
            mp.setenv("QDRANT_URL", ":memory:")
        load_settings.cache_clear()
        try:
            yield get_settings()
        finally:
            load_settings.cache_clear()


@contextmanager
def search_app(settings: SearchSettings, encoder: StandInEncoder) -> Iterator[TestClient]:
    from services.search.app import create_app

    with TestClient(create_app(settings, encoder=encoder), headers={"X-Service-Token": TOKEN}) as client:
        yield client


@pytest.fixture
def search_env(backend: str, tmp_path: Path) -> Iterator[SearchSettings]:
    with search_settings(backend, tmp_path) as settings:
        yield settings


@pytest.fixture
def encoder() -> StandInEncoder:
    return StandInEncoder()


@pytest.fixture
def empty_client(search_env: SearchSettings, encoder: StandInEncoder) -> Iterator[TestClient]:
    """The search app on an empty index."""
    with search_app(search_env, encoder) as client:
        yield client


def index_songs(client: TestClient, encoder: StandInEncoder, songs: list[Song], version: str | None = None):
    """Embed each song's description with ``encoder`` and send it through the internal index API."""
    if version is None:
        answer = client.post("/index/ensure", json={"model_id": encoder.id, "dim": encoder.dim})
        version = answer.json()["version"]
    vectors = encoder.encode_texts([s.description for s in songs])
    items = [{"song": s.model_dump(mode="json"), "vector": v} for s, v in zip(songs, vectors, strict=True)]
    answer = client.post("/index/points", json={"version": version, "model_id": encoder.id, "items": items})
    assert answer.status_code == 200, answer.text
    return version


@pytest.fixture
def client(empty_client: TestClient, encoder: StandInEncoder, catalog_slice: list[Song]) -> TestClient:
    """The search app with the catalog slice indexed, for tests that change something."""
    index_songs(empty_client, encoder, catalog_slice)
    return empty_client


@pytest.fixture(scope="module", params=BACKENDS)
def ro_client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, catalog_slice: list[Song]
) -> Iterator[TestClient]:
    """One indexed app per backend shared by a module's read-only tests (indexing takes seconds).
    Its stand-in encoder is ``ro_client.app.state.encoder``."""
    encoder = StandInEncoder()
    with (
        search_settings(request.param, tmp_path_factory.mktemp("search")) as settings,
        search_app(settings, encoder) as client,
    ):
        index_songs(client, encoder, catalog_slice)
        yield client
