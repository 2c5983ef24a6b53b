"""Fixtures for the quality tests: the tiny CLIP model loaded in-process, a small catalog slice."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from scripts.evaluate_quality import ClipEmbedder
from services.common.catalog import load_catalog
from services.common.schemas import Song

CATALOG = Path(__file__).resolve().parents[2] / "data/catalog/spotify_songs.csv.gz"


@pytest.fixture(scope="session")
def tiny_embedder(tiny_model_dir: Path) -> ClipEmbedder:
    """The tiny random checkpoint, loaded the way the harness loads a real one."""
    return ClipEmbedder("unused", checkpoint=tiny_model_dir)


@pytest.fixture(scope="session")
def small_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 600 rows of the real catalog as a CSV file (a fast, realistic slice)."""
    path = tmp_path_factory.mktemp("catalog") / "slice.csv"
    with gzip.open(CATALOG, "rt", encoding="utf-8", newline="") as src:
        lines = [line for _, line in zip(range(601), src, strict=False)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def small_songs(small_catalog: Path) -> list[Song]:
    songs, _ = load_catalog(small_catalog)
    return songs


# The search service's own fixtures (both storage backends, stand-in encoder, catalog slice), reused
# so the feedback and diversity tests run against the real search app exactly as tests/search does.
from tests.search.conftest import (  # noqa: E402, F401
    backend,
    catalog_slice,
    client,
    empty_client,
    encoder,
    search_env,
)
from tests.ui.conftest import photo_files, ui_settings, ui_stack  # noqa: E402, F401
