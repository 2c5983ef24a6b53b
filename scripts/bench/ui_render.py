"""What the UI layer costs on top of the services (prints numbers and ratios; asserts nothing).

PYTHONPATH=. python -m scripts.bench.ui_render              # pure pieces only
PYTHONPATH=. python -m scripts.bench.ui_render --live       # + a photo search through the UI handler
                                                      #   vs the bare search client (needs the
                                                      #   services at PIXELPLAY_*_URL)
"""

from __future__ import annotations

import argparse
import io
import secrets
import statistics
import time
from collections.abc import Callable

from PIL import Image

from services.ui.cards import results_html
from services.ui.images import Upload, thumbnail_data_url
from tests.ui.conftest import photo_png
from tests.ui.helpers import hit


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` in milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def big_jpeg(size: tuple[int, int] = (4000, 3000)) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(photo_png("sunset", size))).save(out, "JPEG", quality=90)
    return out.getvalue()


def thumbnail_without_draft(data: bytes, max_px: int = 96) -> None:
    with Image.open(io.BytesIO(data)) as image:
        thumb = image.convert("RGB")
        thumb.thumbnail((max_px, max_px))
        thumb.save(io.BytesIO(), "JPEG", quality=70)


def pure() -> None:
    for n in (12, 100):
        hits = [hit(f"t{i}", 0.3, ["cheerful", "pop song"]) for i in range(n)]
        ms = timed(lambda hits=hits: results_html(hits, "Songs"), 20)
        print(f"results_html, {n:>3} cards: {ms:6.2f} ms ({ms / n * 1000:.0f} µs per card)")
    jpeg = big_jpeg()
    fast = timed(lambda: thumbnail_data_url(jpeg), 5)
    slow = timed(lambda: thumbnail_without_draft(jpeg), 5)
    print(
        f"96 px thumbnail of a 12 MP JPEG: {fast:.1f} ms with draft decoding, {slow:.1f} ms without "
        f"(x{slow / fast:.1f})"
    )


def live() -> None:
    from services.ui.context import Context
    from services.ui.handlers import Handlers
    from services.ui.query import Query
    from services.ui.settings import get_settings

    ctx = Context.from_settings(get_settings())
    ui = Handlers.build(ctx)
    name = "bench" + secrets.token_hex(4)
    ctx.auth.register(name, f"{name}@example.com", "Bench-Pass-1234")
    answer = ctx.auth.login(name, "Bench-Pass-1234")
    session = {"token": answer.token, "user": answer.user}
    data = photo_png("sunset", (1024, 768))
    path = f"/tmp/{name}.png"
    with open(path, "wb") as f:
        f.write(data)
    upload = Upload(data, "p.png", "image/png")
    limit = ctx.limits.page_size
    query = Query(kind="image")
    bare = timed(lambda: query.run(ctx.search, limit, upload=upload), 10)
    handler = timed(
        lambda: ui.search.search(
            session, {"path": path}, "", 0.3, None, None, None, None, progress=lambda *a, **k: None
        ),
        10,
    )
    print(
        f"photo search, bare client: {bare:.0f} ms; through the UI handler (thumbnail, history save and "
        f"reload, cards): {handler:.0f} ms (x{handler / bare:.2f})"
    )
    ctx.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--live", action="store_true")
    args = parser.parse_args()
    pure()
    if args.live:
        live()
