"""Decoding runs under a semaphore: eight parallel 40-megapixel PNGs cost the running encoder about
what two do, not eight times one (which is what pushes a small machine into swap)."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from PIL import Image

PARALLEL = 8


def big_png() -> bytes:
    """39.5 megapixels (just under the 40 M limit), a few hundred kB on the wire."""
    out = io.BytesIO()
    Image.new("RGB", (7900, 5000), (200, 120, 40)).save(out, "PNG")
    return out.getvalue()


def server_pid(url: str) -> int:
    port = str(urlsplit(url).port)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"services.encoder.app:app" in args and port.encode() in args:
            return int(proc.name)
    raise LookupError(f"no encoder process on port {port}")


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def peak_growth_mb(pid: int, url: str, data: bytes, count: int) -> float:
    """Peak RSS above the resting RSS while ``count`` uploads are encoded at once."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # restart the peak (VmHWM) from the current RSS
    resting = memory_kb(pid, "VmRSS")

    def one(_: int) -> int:
        files = {"file": ("big.png", data, "image/png")}
        return httpx.post(f"{url}/encode/image", files=files, timeout=300).status_code

    with ThreadPoolExecutor(count) as pool:
        codes = list(pool.map(one, range(count)))
    assert codes == [200] * count, codes
    return (memory_kb(pid, "VmHWM") - resting) / 1024


def test_parallel_huge_images_are_decoded_a_few_at_a_time(sec_stack):
    pid = server_pid(sec_stack.encoder)
    data = big_png()
    peak_growth_mb(pid, sec_stack.encoder, data, 1)  # warm: allocator arenas, first-call buffers
    one = peak_growth_mb(pid, sec_stack.encoder, data, 1)
    many = peak_growth_mb(pid, sec_stack.encoder, data, PARALLEL)
    assert one > 50, f"one decode should cost the size of the image ({one:.0f} MB)"
    # Two decode slots: about 2x one image; unbounded would be about 8x.
    assert many < 4 * one, (
        f"{PARALLEL} parallel uploads grew the encoder by {many:.0f} MB, one by {one:.0f} MB"
    )
