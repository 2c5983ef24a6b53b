"""Fixtures shared by every test: the tiny real CLIP checkpoint and isolated settings."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from scripts.make_demo_model import make_tiny_checkpoint
from services.common.settings import load_settings

# pgserver logs from its atexit hook, after pytest has closed the streams that logging wrote to,
# which prints "I/O operation on closed file" tracebacks at the end of every run.
logging.getLogger("pgserver").propagate = False

# Fixtures that tests of several folders use.
pytest_plugins = ["tests.fixtures.catalog", "tests.fixtures.security_stack"]

# The services refuse their built-in development secrets unless told this is a development run;
# tests are one (the security stack starts with a real secret and without this flag).
os.environ.setdefault("PIXELPLAY_DEV_MODE", "true")
# Tests create many accounts from one address; the security tests check the default limit.
os.environ.setdefault("PIXELPLAY_AUTH_REGISTER_MAX_PER_ADDRESS", "100000")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny open_clip checkpoint folder, built in this test run and loaded like a real one."""
    return make_tiny_checkpoint(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model_dir: Path):
    """Settings pointing at a fresh data dir and the tiny model, restored after the test:
    ``isolated_settings(EnricherSettings)`` reads them for one service."""
    monkeypatch.setenv("PIXELPLAY_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PIXELPLAY_ENCODER_CLIP_CHECKPOINT", str(tiny_model_dir))
    monkeypatch.setenv("PIXELPLAY_AUTH_BCRYPT_ROUNDS", "4")  # fast hashing in tests only
    monkeypatch.setenv("PIXELPLAY_LOG_JSON", "false")
    load_settings.cache_clear()
    yield load_settings
    load_settings.cache_clear()
