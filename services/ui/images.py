"""The uploaded photo: its bytes, a fingerprint and a small thumbnail for the search history."""

from __future__ import annotations

import base64
import hashlib
import io
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pillow_heif
from PIL import Image, UnidentifiedImageError

# The history thumbnail of an iPhone (HEIC) photo: the same reader the encoder uses.
pillow_heif.register_heif_opener()


class UploadError(ValueError):
    """The upload cannot be sent at all (missing, too big); the message is for people."""


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str
    content_type: str

    @property
    def fingerprint(self) -> str:
        """sha256 of the bytes: the same photo uploaded twice has the same fingerprint."""
        return hashlib.sha256(self.data).hexdigest()


def upload_path(value: Any) -> str | None:
    """The server-side file path of a Gradio image/file payload (a path string or a FileData dict)."""
    if value is None:
        return None
    if isinstance(value, str | Path):
        return str(value)
    if isinstance(value, dict):
        return value.get("path")
    return getattr(value, "path", None)


def read_upload(value: Any, max_bytes: int) -> Upload | None:
    """The uploaded file as bytes, or ``None`` when nothing was uploaded.

    The bytes go to the services unchanged: they check the content themselves and their 4xx
    message is what the user sees, so a bad file is not judged here beyond its size.
    """
    path = upload_path(value)
    if not path:
        return None
    file = Path(path)
    try:
        size = file.stat().st_size
    except OSError as exc:
        raise UploadError("The uploaded file is gone; please upload it again.") from exc
    if size > max_bytes:
        raise UploadError(
            f"The image is too large ({size / 1e6:.1f} MB); the limit is {max_bytes / 1e6:.0f} MB."
        )
    name = value.get("orig_name") if isinstance(value, dict) else None
    filename = name or file.name
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return Upload(file.read_bytes(), filename, content_type)


def thumbnail_data_url(data: bytes, max_px: int = 96, quality: int = 70) -> str | None:
    """A small JPEG ``data:`` URL of the image (longest side ``max_px``); ``None`` if it is not
    an image PIL can read. Small enough (a few kB) to store in every history entry."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (max_px, max_px))  # JPEG: decode at reduced size, much faster
            thumb = image.convert("RGB")
            thumb.thumbnail((max_px, max_px))
            out = io.BytesIO()
            thumb.save(out, "JPEG", quality=quality, optimize=True)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")
