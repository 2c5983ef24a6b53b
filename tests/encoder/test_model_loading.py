"""Which weights load, what /info says about them, and the start-up errors for a missing model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.common.settings import load_settings
from services.encoder.model_loading import ModelLoadError, file_fingerprint, load_clip
from services.encoder.settings import EncoderSettings


def test_local_dir_checkpoint_identity(tiny_model_dir: Path) -> None:
    clip = load_clip(EncoderSettings(clip_checkpoint=tiny_model_dir))
    digest = file_fingerprint(tiny_model_dir / "open_clip_model.bin")
    assert clip.model_id == f"local:tiny-random-seed0:{digest}"
    assert len(digest) == 12
    assert clip.is_pretrained is False  # {"pixelplay": {"pretrained": false}} in its config
    assert clip.checkpoint == str(tiny_model_dir) and clip.pretrained is None


def test_model_id_changes_with_the_weights(tiny_model_dir: Path, tmp_path: Path) -> None:
    from scripts.make_demo_model import make_tiny_checkpoint

    other = make_tiny_checkpoint(tmp_path / "other", seed=1)
    first = load_clip(EncoderSettings(clip_checkpoint=tiny_model_dir)).model_id
    second = load_clip(EncoderSettings(clip_checkpoint=other)).model_id
    assert first != second


def test_checkpoint_without_the_demo_flag_counts_as_pretrained(tiny_model_dir: Path, tmp_path: Path) -> None:
    import json

    folder = tmp_path / "exported"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "open_clip_config.json").read_text())
    del config["pixelplay"]
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    clip = load_clip(EncoderSettings(clip_checkpoint=folder))
    assert clip.is_pretrained is True
    assert clip.model_id.startswith("local:exported:")


def test_weights_file_not_fitting_clip_model_is_a_clear_error(tiny_model_dir: Path, tmp_path: Path) -> None:
    """A bare weights file is loaded as ``clip_model``; weights of another shape name both settings."""
    weights = tmp_path / "weights.bin"
    shutil.copy(tiny_model_dir / "open_clip_model.bin", weights)
    with pytest.raises(ModelLoadError) as info:
        load_clip(EncoderSettings(clip_checkpoint=weights, clip_model="ViT-B-32"))
    message = str(info.value)
    assert (
        "PIXELPLAY_ENCODER_CLIP_CHECKPOINT" in message and "PIXELPLAY_ENCODER_CLIP_MODEL=ViT-B-32" in message
    )


def test_missing_checkpoint_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="PIXELPLAY_ENCODER_CLIP_CHECKPOINT=.*does not exist"):
        load_clip(EncoderSettings(clip_checkpoint=tmp_path / "nowhere"))


def test_folder_without_weights_is_refused_not_random(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "config-only"
    folder.mkdir()
    shutil.copy(tiny_model_dir / "open_clip_config.json", folder)
    with pytest.raises(ModelLoadError, match="not a complete checkpoint folder"):
        load_clip(EncoderSettings(clip_checkpoint=folder))


def test_no_pretrained_tag_and_no_checkpoint_is_refused() -> None:
    with pytest.raises(ModelLoadError) as info:
        load_clip(EncoderSettings(clip_checkpoint=None, clip_pretrained=""))
    assert "PIXELPLAY_ENCODER_CLIP_PRETRAINED" in str(
        info.value
    ) and "PIXELPLAY_ENCODER_CLIP_CHECKPOINT" in str(info.value)


def test_unknown_pretrained_tag_names_both_settings() -> None:
    with pytest.raises(ModelLoadError) as info:
        load_clip(EncoderSettings(clip_checkpoint=None, clip_model="ViT-B-32", clip_pretrained="no-such-tag"))
    message = str(info.value)
    assert (
        "PIXELPLAY_ENCODER_CLIP_PRETRAINED=no-such-tag" in message
        and "PIXELPLAY_ENCODER_CLIP_CHECKPOINT" in message
    )


def test_app_start_fails_with_the_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from services.encoder.app import create_app

    monkeypatch.setenv("PIXELPLAY_ENCODER_CLIP_CHECKPOINT", str(tmp_path / "missing-model"))
    monkeypatch.setenv("PIXELPLAY_DATA_DIR", str(tmp_path / "var"))
    load_settings.cache_clear()
    try:
        with (
            pytest.raises(ModelLoadError, match="PIXELPLAY_ENCODER_CLIP_CHECKPOINT"),
            TestClient(create_app()),
        ):
            pass
    finally:
        load_settings.cache_clear()
