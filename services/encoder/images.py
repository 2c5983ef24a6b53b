"""Uploaded bytes → checked image → the model's input array, without torch or PIL↔tensor round trips.

Checks run cheapest first: size in bytes, type by magic bytes (never the filename or the client's
content type), then the pixel count from the header, before anything is decoded, so a
decompression bomb is refused without allocating its pixels.
"""

from __future__ import annotations

import io
import warnings
from functools import lru_cache

import numpy as np
import pillow_heif
from PIL import Image, ImageDraw, ImageOps

from services.encoder.model_loading import PreprocessSpec

# iPhone photos are HEIC: pillow-heif teaches Pillow to read them (format name "HEIF").
pillow_heif.register_heif_opener()

ACCEPTED = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "HEIF": "image/heic",
}
ACCEPTED_NAMES = "JPEG, PNG, WebP, GIF or HEIC"
# ISO-BMFF brands of HEIF still images (the "ftyp" box right after the first 4 bytes).
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
# Transparent pixels are shown on this mid grey, not on whatever colour they happen to hold.
NEUTRAL_BACKGROUND = (128, 128, 128)
_RESAMPLE = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
}


class ImageRejected(ValueError):
    """The upload is not an acceptable image; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def sniff_format(data: bytes) -> str | None:
    """'JPEG', 'PNG', 'WEBP', 'GIF' or 'HEIF' from the leading bytes; None for anything else."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def open_checked(
    data: bytes, max_bytes: int, max_pixels: int, jpeg_draft: tuple[int, int] | None = None
) -> Image.Image:
    """Validate an upload and return the decoded RGB image (fully loaded, EXIF orientation applied,
    an animation's first frame, transparency composited on a neutral grey).

    ``jpeg_draft=(w, h)``: JPEGs are decoded at the smallest 1/2, 1/4 or 1/8 scale that still
    covers (w, h) (libjpeg's DCT scaling), which is 2-3x faster for phone photos; the result then
    goes through the same resize, so vectors stay within 1e-4 cosine of a full decode.

    Raises ``ImageRejected``: 400 empty / not an image / corrupt or truncated, 413 too many bytes or
    pixels, 415 a real image of a type we do not accept (BMP, TIFF, ...).
    """
    if not data:
        raise ImageRejected(400, "The uploaded file is empty.")
    if len(data) > max_bytes:
        raise ImageRejected(413, f"The image is {len(data):,} bytes; the limit is {max_bytes:,} bytes.")
    fmt = sniff_format(data)
    if fmt is None:
        raise _unsupported_or_not_image(data)
    try:
        with warnings.catch_warnings():
            # PIL warns (and past 2x its own limit, raises) on huge images; our limit is checked below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[fmt])  # reads the header only
    except Image.DecompressionBombError as exc:
        raise ImageRejected(413, f"The image has too many pixels (limit {max_pixels:,}).") from exc
    except Exception as exc:
        raise ImageRejected(400, f"The file looks like {fmt} but its header cannot be read.") from exc
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRejected(
            413, f"The image is {width}x{height} = {width * height:,} pixels; the limit is {max_pixels:,}."
        )
    try:
        if fmt == "JPEG" and jpeg_draft is not None:
            image.draft("RGB", jpeg_draft)
        image.seek(0)  # an animated GIF or WebP, or a HEIC burst: the first frame
        image.load()  # the real decode: truncated or corrupt data fails here
        image = ImageOps.exif_transpose(image)  # phone photos: encode what the person sees
        image = flatten(image)
    except Exception as exc:
        raise ImageRejected(400, f"The {fmt} image is truncated or corrupt and cannot be decoded.") from exc
    return image


def flatten(image: Image.Image) -> Image.Image:
    """An RGB image; transparent parts are composited onto ``NEUTRAL_BACKGROUND``.

    Converting straight to RGB would keep the colour values hidden under transparency (often black,
    sometimes anything an editor left there), so a logo on a transparent PNG would be encoded as a
    random photo.
    """
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        return image if image.mode == "RGB" else image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (*NEUTRAL_BACKGROUND, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _unsupported_or_not_image(data: bytes) -> ImageRejected:
    try:
        with Image.open(io.BytesIO(data)) as other:  # header only: is it some other image type?
            kind = other.format or "unknown"
    except Exception:
        return ImageRejected(400, f"The file is not an image. Send a {ACCEPTED_NAMES} photo.")
    return ImageRejected(415, f"{kind} images are not supported. Send a {ACCEPTED_NAMES} photo.")


def prepare_upload(
    data: bytes, spec: PreprocessSpec, max_bytes: int, max_pixels: int, jpeg_draft: bool = True
) -> np.ndarray:
    """Upload bytes → checked, decoded, preprocessed [3, H, W] array (what /encode/image batches)."""
    image = open_checked(data, max_bytes, max_pixels, spec.size[::-1] if jpeg_draft else None)
    return to_pixels(image, spec)


def to_pixels(image: Image.Image, spec: PreprocessSpec) -> np.ndarray:
    """One image → float32 array [3, H, W], equal to open_clip's eval transform output.

    Same steps as open_clip (resize, center crop, RGB, /255, normalise) but straight to numpy:
    no torchvision ToTensor/Normalize and no intermediate copies.
    """
    # Palette and 1-bit images would be resized with nearest-neighbour by PIL; convert them first.
    if image.mode in ("P", "PA", "1", "L", "LA", "I", "I;16", "F", "CMYK", "YCbCr", "RGBA"):
        image = image.convert("RGB")
    height, width = spec.size
    if spec.resize_mode != "shortest" or height != width:
        return _open_clip_transform(spec)(image).numpy()  # rare shapes: defer to open_clip itself
    resample = _RESAMPLE.get(spec.interpolation, Image.Resampling.BICUBIC)
    image = _resize_shortest_and_crop(image, height, resample)
    if image.mode != "RGB":
        image = image.convert("RGB")
    pixels = np.asarray(image, dtype=np.float32)  # [H, W, 3]
    scale = np.asarray(spec.std, dtype=np.float32) * 255.0
    pixels = (pixels - np.asarray(spec.mean, dtype=np.float32) * 255.0) / scale
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def _resize_shortest_and_crop(image: Image.Image, size: int, resample) -> Image.Image:
    """torchvision ``Resize(size)`` then ``CenterCrop(size)``: the shortest side becomes ``size`` (the
    other is truncated with int(), as torchvision does), then the centre square is cut out."""
    w, h = image.size
    if w <= h:
        new_w, new_h = size, int(size * h / w)
    else:
        new_w, new_h = int(size * w / h), size
    if (new_w, new_h) != (w, h):
        image = image.resize((new_w, new_h), resample)
    top = int(round((new_h - size) / 2.0))
    left = int(round((new_w - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


@lru_cache(maxsize=4)
def _open_clip_transform(spec: PreprocessSpec):
    import open_clip

    return open_clip.image_transform(
        spec.size,
        is_train=False,
        mean=spec.mean,
        std=spec.std,
        resize_mode=spec.resize_mode,
        interpolation=spec.interpolation,
        fill_color=spec.fill_color,
    )


def probe_pixels(spec: PreprocessSpec, count: int = 8) -> np.ndarray:
    """``count`` deterministic synthetic photos as model input [count, 3, H, W].

    Smooth colour waves, filled shapes and sensor-like noise at several sizes and aspect ratios:
    what the start-up int8 parity check runs on, since the service ships no real photos.
    """
    rng = np.random.default_rng(20261125)
    sizes = [(640, 480), (480, 640), (800, 800), (1024, 576)]
    pixels = []
    for i in range(count):
        w, h = sizes[i % len(sizes)]
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        phase, freq = rng.uniform(0, 6.28, 3), rng.uniform(0.004, 0.04, 3)
        angle = [x * np.cos(phase[c]) + y * np.sin(phase[c]) for c in range(3)]
        waves = [127 + 100 * np.sin(freq[c] * angle[c] + phase[c]) for c in range(3)]
        base = np.stack(waves, axis=-1) + rng.normal(0, 8, (h, w, 3))
        image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
        draw = ImageDraw.Draw(image)
        for _ in range(10):
            cx, cy, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(8, min(w, h) // 3))
            fill = tuple(int(c) for c in rng.integers(0, 256, 3))
            shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
            shape([cx - r, cy - r, cx + r, cy + r], fill=fill)
        pixels.append(to_pixels(image, spec))
    return np.stack(pixels)
