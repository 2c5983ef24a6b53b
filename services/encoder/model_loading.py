"""Find and load the CLIP weights named by the settings, and say exactly which weights they are.

Order: ``clip_checkpoint`` (a ``local-dir`` folder or a weights file for ``clip_model``) wins; else
``clip_model`` with the ``clip_pretrained`` tag (downloaded by open_clip into its cache). Anything
missing or unloadable raises ``ModelLoadError`` naming the setting to fix: the service must never
fall back to random weights, because every vector in the search index would silently be noise.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.encoder.settings import EncoderSettings

log = logging.getLogger(__name__)

CONFIG_FILE = "open_clip_config.json"
# What open_clip's local-dir loader looks for, in its order of preference.
WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin", "open_clip_model.bin")


class ModelLoadError(RuntimeError):
    """The configured model cannot be loaded; the message says which setting to change."""


@dataclass(frozen=True)
class PreprocessSpec:
    """How an image becomes the model's input tensor (open_clip's eval transform, as data)."""

    size: tuple[int, int]  # (height, width)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str  # "bicubic" | "bilinear" | "nearest"
    resize_mode: str  # "shortest" (CLIP) | "longest" | "squash"
    fill_color: int = 0


@dataclass
class LoadedClip:
    """A loaded open_clip model plus what /info reports about it."""

    model: Any  # open_clip.CLIP (eval mode, fp32, CPU); None once ONNX towers replace it
    tokenizer: Any  # open_clip tokenizer: list[str] -> LongTensor [n, context_length]
    preprocess: PreprocessSpec
    model_name: str
    pretrained: str | None
    checkpoint: str | None
    is_pretrained: bool
    model_id: str


def file_fingerprint(path: Path, chars: int = 12) -> str:
    """First ``chars`` hex digits of the file's SHA-256 (streamed; weights can be GBs)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:chars]


def load_clip(settings: EncoderSettings) -> LoadedClip:
    """Load the model the settings name, or raise ``ModelLoadError`` saying what to fix."""
    if settings.clip_checkpoint is not None:
        path = Path(settings.clip_checkpoint).expanduser()
        if path.is_dir():
            return _load_local_dir(path)
        if path.is_file():
            return _load_weights_file(settings.clip_model, path)
        raise ModelLoadError(
            f"PIXELPLAY_ENCODER_CLIP_CHECKPOINT={path} does not exist. Point it at a local-dir checkpoint "
            "folder "
            f"({CONFIG_FILE} + open_clip_model.bin) or a weights file for {settings.clip_model}, or unset it "
            "to use PIXELPLAY_ENCODER_CLIP_PRETRAINED."
        )
    return _load_pretrained_tag(settings.clip_model, settings.clip_pretrained)


def _load_local_dir(folder: Path) -> LoadedClip:
    config_path = folder / CONFIG_FILE
    weights = next((folder / name for name in WEIGHT_FILES if (folder / name).is_file()), None)
    if not config_path.is_file() or weights is None:
        raise ModelLoadError(
            f"PIXELPLAY_ENCODER_CLIP_CHECKPOINT={folder} is not a complete checkpoint folder: "
            f"it needs {CONFIG_FILE} "
            f"and one of {', '.join(WEIGHT_FILES)}."
        )
    failure = f"PIXELPLAY_ENCODER_CLIP_CHECKPOINT={folder} could not be loaded: {{reason}}"
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelLoadError(failure.replace("{reason}", str(exc))) from exc
    ours = config.get("pixelplay", {}) if isinstance(config, dict) else {}
    name = str(ours.get("name") or folder.name)
    return _loaded(
        f"local-dir:{folder}",
        failure,
        pretrained=None,
        checkpoint=str(folder),
        # Only our demo checkpoints say {"pixelplay": {"pretrained": false}}; a real export says nothing.
        is_pretrained=bool(ours.get("pretrained", True)),
        model_id=f"local:{name}:{file_fingerprint(weights)}",
        reported_name=f"local-dir:{name}",
    )


def _load_weights_file(model_name: str, weights: Path) -> LoadedClip:
    return _loaded(
        model_name,
        f"PIXELPLAY_ENCODER_CLIP_CHECKPOINT={weights} could not be loaded as weights for "
        f"PIXELPLAY_ENCODER_CLIP_MODEL={model_name}: {{reason}}",
        pretrained=None,
        checkpoint=str(weights),
        is_pretrained=True,
        model_id=f"local:{model_name}:{file_fingerprint(weights)}",
        options={"pretrained": str(weights)},
    )


def _load_pretrained_tag(model_name: str, tag: str) -> LoadedClip:
    if not tag:
        raise ModelLoadError(
            "No CLIP weights configured: set PIXELPLAY_ENCODER_CLIP_PRETRAINED to a pretrained tag (e.g. "
            "laion2b_s34b_b79k) or PIXELPLAY_ENCODER_CLIP_CHECKPOINT to a local checkpoint. "
            "Random weights are never used."
        )
    return _loaded(
        model_name,
        f"CLIP {model_name} with PIXELPLAY_ENCODER_CLIP_PRETRAINED={tag} could not be loaded ({{reason}}). "
        "Without internet access, set PIXELPLAY_ENCODER_CLIP_CHECKPOINT to a local checkpoint folder or "
        "weights file; otherwise check PIXELPLAY_ENCODER_CLIP_MODEL / PIXELPLAY_ENCODER_CLIP_PRETRAINED.",
        pretrained=tag,
        checkpoint=None,
        is_pretrained=True,
        model_id=f"{model_name}/{tag}",
        # require_pretrained: open_clip must fail rather than hand back a randomly initialised model.
        options={"pretrained": tag, "require_pretrained": True},
    )


def _loaded(
    model_name: str,
    failure: str,
    *,
    pretrained: str | None,
    checkpoint: str | None,
    is_pretrained: bool,
    model_id: str,
    reported_name: str | None = None,
    options: dict[str, Any] | None = None,
) -> LoadedClip:
    """open_clip's model ``model_name`` (created with ``options``) and its tokenizer, or
    ``ModelLoadError``: ``failure`` with open_clip's ``{reason}``."""
    import open_clip

    try:
        model = open_clip.create_model(model_name, **(options or {}))
        tokenizer = open_clip.get_tokenizer(model_name)
    except Exception as exc:
        raise ModelLoadError(failure.replace("{reason}", str(exc))) from exc
    return LoadedClip(
        model=model.eval(),
        tokenizer=tokenizer,
        preprocess=_preprocess_spec(model),
        model_name=reported_name or model_name,
        pretrained=pretrained,
        checkpoint=checkpoint,
        is_pretrained=is_pretrained,
        model_id=model_id,
    )


def _preprocess_spec(model: Any) -> PreprocessSpec:
    """open_clip attaches its eval preprocessing config to ``model.visual``; read it from there."""
    cfg = dict(getattr(model.visual, "preprocess_cfg", {}) or {})
    size = cfg.get("size", model.visual.image_size)
    if isinstance(size, int):
        size = (size, size)
    return PreprocessSpec(
        size=(int(size[0]), int(size[1])),
        mean=tuple(float(v) for v in cfg.get("mean", (0.48145466, 0.4578275, 0.40821073))),
        std=tuple(float(v) for v in cfg.get("std", (0.26862954, 0.26130258, 0.27577711))),
        interpolation=str(cfg.get("interpolation", "bicubic")),
        resize_mode=str(cfg.get("resize_mode", "shortest")),
        fill_color=int(cfg.get("fill_color", 0)),
    )
