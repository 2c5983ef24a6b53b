"""Synthetic photos for the tests that upload one."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw


def photo_png(kind: str = "sunset", size: tuple[int, int] = (320, 240)) -> bytes:
    """A small synthetic photo: "sunset" (warm gradient + sun) or "night" (dark blue + dots)."""
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    w, h = size
    for y in range(h):
        t = y / h
        color = (255, int(120 + 80 * t), int(40 + 60 * t)) if kind == "sunset" else (10, 15, int(60 - 40 * t))
        draw.line([(0, y), (w, y)], fill=color)
    if kind == "sunset":
        draw.ellipse([w // 2 - 40, h // 2 - 40, w // 2 + 40, h // 2 + 40], fill=(255, 230, 90))
    else:
        for i in range(40):
            x, y = (i * 97) % w, (i * 53) % (h // 2)
            draw.ellipse([x, y, x + 3, y + 3], fill=(240, 240, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
