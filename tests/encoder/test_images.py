"""Upload checks (status + message for every kind of bad file) and preprocessing parity with open_clip."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import open_clip
import pytest
import torch
from PIL import Image

from services.encoder.images import NEUTRAL_BACKGROUND, ImageRejected, open_checked, sniff_format, to_pixels
from services.encoder.model_loading import PreprocessSpec
from tests.encoder.conftest import encode, photo

MAX_BYTES = 1_000_000
MAX_PIXELS = 4_000_000
SPEC = PreprocessSpec(
    size=(224, 224),
    mean=open_clip.OPENAI_DATASET_MEAN,
    std=open_clip.OPENAI_DATASET_STD,
    interpolation="bicubic",
    resize_mode="shortest",
)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but carries almost no data (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def rejected(data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        open_checked(data, max_bytes, max_pixels)
    return info.value


def heic(image: Image.Image) -> bytes:
    """An iPhone-style HEIC file of ``image`` (written by pillow-heif, the reader the encoder uses)."""
    out = io.BytesIO()
    image.save(out, "HEIF", quality=90)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "HEIF"])
def test_accepted_formats_decode_to_full_rgb_image(fmt: str) -> None:
    data = heic(photo((120, 80))) if fmt == "HEIF" else encode(photo((120, 80)), fmt)
    assert sniff_format(data) == fmt
    image = open_checked(data, MAX_BYTES, MAX_PIXELS)
    assert image.size == (120, 80) and image.mode == "RGB"


def test_heic_is_encoded_like_the_same_photo_as_png() -> None:
    source = photo((160, 120))
    from_heic = to_pixels(open_checked(heic(source), MAX_BYTES, MAX_PIXELS), SPEC)
    from_png = to_pixels(open_checked(encode(source, "PNG"), MAX_BYTES, MAX_PIXELS), SPEC)
    assert float(np.abs(from_heic - from_png).mean()) < 0.1  # lossy, but the same picture


def test_an_animated_gif_gives_its_first_frame() -> None:
    red, blue = Image.new("RGB", (64, 48), (220, 20, 20)), Image.new("RGB", (64, 48), (20, 20, 220))
    out = io.BytesIO()
    red.save(out, "GIF", save_all=True, append_images=[blue], duration=100, loop=0)
    image = open_checked(out.getvalue(), MAX_BYTES, MAX_PIXELS)
    r, g, b = image.getpixel((10, 10))
    assert r > 180 and b < 60


def test_transparency_is_composited_on_neutral_grey_not_its_hidden_colour() -> None:
    hidden = Image.new("RGBA", (64, 64), (255, 0, 0, 0))  # fully transparent, red underneath
    image = open_checked(encode(hidden, "PNG"), MAX_BYTES, MAX_PIXELS)
    assert image.mode == "RGB" and image.getpixel((5, 5)) == NEUTRAL_BACKGROUND
    half = Image.new("RGBA", (64, 64), (0, 0, 255, 128))
    r, g, b = open_checked(encode(half, "PNG"), MAX_BYTES, MAX_PIXELS).getpixel((5, 5))
    assert (r, g) == (64, 64) and 185 <= b <= 193  # blue over grey, half and half
    # A palette GIF with a transparent index is flattened the same way.
    gif = io.BytesIO()
    Image.new("P", (32, 32), 0).save(gif, "GIF", transparency=0)
    assert open_checked(gif.getvalue(), MAX_BYTES, MAX_PIXELS).getpixel((1, 1)) == NEUTRAL_BACKGROUND


@pytest.mark.parametrize("fmt", ["GIF", "HEIF"])
def test_the_new_formats_keep_every_limit(fmt: str) -> None:
    big = Image.new("RGB", (1500, 1400), (20, 40, 90))  # 2.1 M pixels
    data = heic(big) if fmt == "HEIF" else encode(big, fmt)
    assert rejected(data, max_pixels=2_000_000).status == 413
    assert rejected(data, max_bytes=len(data) - 1).status == 413
    small = heic(photo((300, 200))) if fmt == "HEIF" else encode(photo((300, 200)), fmt)
    assert rejected(small[: len(small) // 2]).status == 400


def test_empty_file_is_400() -> None:
    error = rejected(b"")
    assert error.status == 400 and "empty" in error.message


def test_text_file_is_400_not_an_image() -> None:
    error = rejected(b"name,artist\nsong,someone\n" * 10)
    assert error.status == 400 and "not an image" in error.message


@pytest.mark.parametrize("fmt", ["BMP", "TIFF"])
def test_other_image_types_are_415_naming_the_type(fmt: str) -> None:
    error = rejected(encode(photo((64, 64)), fmt))
    assert error.status == 415
    assert fmt in error.message and "JPEG, PNG, WebP, GIF or HEIC" in error.message


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_files_are_400(fmt: str) -> None:
    data = encode(photo((300, 200)), fmt)
    error = rejected(data[: len(data) // 2])
    assert error.status == 400
    assert "truncated" in error.message or "cannot be read" in error.message


def test_too_many_bytes_is_413_before_decoding() -> None:
    data = encode(photo((200, 200)), "PNG")
    error = rejected(data, max_bytes=len(data) - 1)
    assert error.status == 413 and f"{len(data) - 1:,}" in error.message


def test_too_many_pixels_is_413() -> None:
    error = rejected(encode(photo((300, 300)), "PNG"), max_pixels=300 * 300 - 1)
    assert error.status == 413 and "pixels" in error.message


def test_decompression_bomb_header_is_refused_without_decoding() -> None:
    # 100k x 100k = 10^10 pixels (30 GB decoded) in a ~100-byte file.
    data = png_header_only(100_000, 100_000)
    assert len(data) < 200
    error = rejected(data, max_pixels=MAX_PIXELS)
    assert error.status == 413


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    data = encode(photo((120, 80)), "JPEG", exif=exif.tobytes())
    assert open_checked(data, MAX_BYTES, MAX_PIXELS).size == (80, 120)


def open_clip_pixels(image: Image.Image) -> np.ndarray:
    transform = open_clip.image_transform(224, is_train=False)
    return transform(image).numpy()


@pytest.mark.parametrize(
    "size,mode",
    [((640, 480), "RGB"), ((480, 640), "RGB"), ((224, 224), "RGB"), ((100, 60), "RGB"), ((333, 517), "RGB")],
)
def test_pixels_match_open_clip_transform(size: tuple[int, int], mode: str) -> None:
    image = photo(size, seed=size[0], mode=mode)
    ours = to_pixels(image, SPEC)
    assert ours.shape == (3, 224, 224) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, open_clip_pixels(image), atol=1e-5)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_non_rgb_modes_become_rgb(mode: str) -> None:
    image = photo((260, 240), mode=mode)
    pixels = to_pixels(image, SPEC)
    reference = open_clip_pixels(image.convert("RGB"))
    np.testing.assert_allclose(pixels, reference, atol=1e-5)


def test_other_resize_modes_defer_to_open_clip() -> None:
    spec = PreprocessSpec(**{**SPEC.__dict__, "resize_mode": "squash"})
    image = photo((300, 200))
    expected = open_clip.image_transform(
        224, is_train=False, resize_mode="squash", mean=spec.mean, std=spec.std
    )(image)
    np.testing.assert_allclose(to_pixels(image, spec), expected.numpy(), atol=1e-5)
    assert torch.is_tensor(expected)


def test_jpeg_draft_decodes_smaller_but_still_covers_the_model_input() -> None:
    data = encode(photo((1600, 1200)), "JPEG", quality=90)
    drafted = open_checked(data, MAX_BYTES, MAX_PIXELS, jpeg_draft=(224, 224))
    assert drafted.size == (400, 300)  # 1/4 scale: the largest reduction keeping both sides >= 224
    full = open_checked(data, MAX_BYTES, MAX_PIXELS)
    assert full.size == (1600, 1200)
    # Same geometry after preprocessing; pixel values differ only by resampling detail.
    diff = np.abs(to_pixels(drafted, SPEC) - to_pixels(full, SPEC))
    assert diff.mean() < 0.05


def test_jpeg_draft_leaves_other_formats_alone() -> None:
    data = encode(photo((1600, 1200)), "PNG")
    assert open_checked(data, MAX_BYTES * 10, MAX_PIXELS, jpeg_draft=(224, 224)).size == (1600, 1200)
