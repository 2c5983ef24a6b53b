import base64
import hashlib
import io

import pytest
from PIL import Image

from services.ui.images import UploadError, read_upload, thumbnail_data_url, upload_path


def _png(size=(640, 480), color=(200, 30, 90)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def test_thumbnail_is_a_small_jpeg_data_url_of_the_image():
    url = thumbnail_data_url(_png(), max_px=96)
    assert url.startswith("data:image/jpeg;base64,")
    thumb = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert thumb.format == "JPEG" and max(thumb.size) == 96 and thumb.size == (96, 72)
    assert len(url) < 4000
    r, g, b = thumb.convert("RGB").getpixel((48, 36))
    assert abs(r - 200) < 12 and abs(g - 30) < 12 and abs(b - 90) < 12


def test_thumbnail_of_a_non_image_is_none():
    assert thumbnail_data_url(b"definitely not an image") is None


def test_read_upload_from_a_gradio_payload(tmp_path):
    data = _png()
    path = tmp_path / "x1"
    path.write_bytes(data)
    upload = read_upload({"path": str(path), "orig_name": "holiday.png"}, max_bytes=10**6)
    assert upload.data == data and upload.filename == "holiday.png" and upload.content_type == "image/png"
    assert upload.fingerprint == hashlib.sha256(data).hexdigest()
    assert read_upload(str(path), 10**6).filename == "x1"
    assert read_upload(None, 10**6) is None and upload_path({"path": None}) is None


def test_read_upload_refuses_big_or_vanished_files(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(b"x" * 2000)
    with pytest.raises(UploadError, match="too large"):
        read_upload(str(path), max_bytes=1000)
    with pytest.raises(UploadError, match="upload it again"):
        read_upload(str(tmp_path / "gone.png"), max_bytes=1000)
