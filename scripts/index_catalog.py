"""Build the song index: catalog → CLIP text vectors (encoder) → the search service's index API.

Resumable and idempotent: point ids are derived from track ids, songs already stored in the
collection are skipped, and each distinct description sentence is embedded once. Only the search
service opens Qdrant; this job talks to it over HTTP with the service token.

    python -m scripts.index_catalog [--limit N] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tqdm import tqdm

from services.common.catalog import load_catalog
from services.common.contracts.encoder import ModelInfo
from services.common.contracts.search import IndexItem
from services.common.contracts.songs import Song
from services.common.http import ServiceError
from services.common.settings import get_common_settings

if TYPE_CHECKING:
    from services.common.clients.search import SearchClient

UPSERT_CHUNK = 1000  # songs per /index/points request (the service accepts up to 2000)
PRESENT_CHUNK = 2000


class Encoder(Protocol):
    def info(self) -> ModelInfo: ...

    def encode_texts(self, texts: list[str]) -> list[list[float]]: ...


@dataclass
class IndexReport:
    version: str
    model_id: str
    songs: int = 0  # songs given
    skipped: int = 0  # already in the collection (resume)
    texts: int = 0  # distinct description sentences embedded
    upserted: int = 0
    optimize_seconds: float = 0.0  # building the vector index after the upserts
    seconds: float = 0.0
    imported: int = 0  # songs of imported catalogs carried over by a re-index

    def line(self) -> str:
        return (
            f"{self.version} ({self.model_id}): {self.songs:,} songs, {self.skipped:,} already indexed, "
            f"{self.texts:,} distinct texts embedded, {self.upserted:,} upserted in {self.seconds:.1f} s "
            f"(vector index {self.optimize_seconds:.1f} s)"
        )


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def index_songs(
    songs: list[Song],
    search: SearchClient,
    encoder: Encoder,
    *,
    batch_size: int = 64,
    version: str | None = None,
    progress: bool = True,
) -> IndexReport:
    """Embed and upsert every song not yet in ``version`` (default: the active collection, created
    for the encoder's model when the index is empty). ``search`` carries the service token."""
    start = time.perf_counter()
    info = encoder.info()
    model_id, dim = info.model_id, info.dim
    if version is None:
        version = search.index_ensure(model_id, dim).version
    report = IndexReport(version=version, model_id=model_id, songs=len(songs))

    done: set[str] = set()
    for part in chunks([s.track_id for s in songs], PRESENT_CHUNK):
        done.update(search.index_present(list(part), version))
    todo = [s for s in songs if s.track_id not in done]
    report.skipped = len(songs) - len(todo)

    # Many songs share a description sentence (same genre, decade and mood words): embed it once.
    by_text: dict[str, list[Song]] = {}
    for song in todo:
        by_text.setdefault(song.description, []).append(song)
    texts = list(by_text)
    report.texts = len(texts)

    bar = tqdm(total=len(todo), unit="song", disable=not progress, desc=f"indexing {version}")
    pending: list[IndexItem] = []

    def flush() -> None:
        for part in chunks(pending, UPSERT_CHUNK):
            report.upserted += search.index_points(model_id, list(part), version)
            bar.update(len(part))
        pending.clear()

    for batch in chunks(texts, max(1, batch_size)):
        vectors = encoder.encode_texts(list(batch))
        if len(vectors) != len(batch):
            raise RuntimeError(f"the encoder returned {len(vectors)} vectors for {len(batch)} texts")
        for text, vector in zip(batch, vectors, strict=True):
            pending.extend(IndexItem.model_construct(song=s, vector=vector) for s in by_text[text])
        if len(pending) >= UPSERT_CHUNK:
            flush()
    flush()
    bar.close()
    if report.upserted:
        # The graph is built once, over the whole catalog, rather than while points arrive.
        started = time.perf_counter()
        search.index_optimize(version)
        report.optimize_seconds = time.perf_counter() - started
    report.seconds = time.perf_counter() - start
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, help="only the first N songs of the catalog (tests, demos)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=64,
        help="texts per encoder request (ViT-B-32 on 2 CPUs: ~5 s for 64)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def load_songs(limit: int | None) -> list[Song]:
    settings = get_common_settings()
    started = time.perf_counter()
    songs, _ = load_catalog(settings.catalog_path)
    songs = songs[:limit] if limit else songs
    print(
        f"catalog: {len(songs):,} songs from {settings.catalog_path} in {time.perf_counter() - started:.1f} s"
    )
    return songs


def clients():
    """The encoder and search clients from the settings (the search one with the service token)."""
    from services.common.clients.encoder import EncoderClient
    from services.common.clients.search import SearchClient

    settings = get_common_settings()
    token = settings.service_token.get_secret_value()
    return EncoderClient(settings.encoder_url), SearchClient(settings.search_url, token=token)


@contextmanager
def service_clients(stopped: str) -> Iterator[tuple[Any, Any]]:
    """The encoder and search clients, closed after; a service error prints "<stopped>: <why>" and
    exits with status 2 (the jobs' "a service failed")."""
    encoder, search = clients()
    try:
        yield encoder, search
    except ServiceError as exc:
        print(f"{stopped}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    finally:
        encoder.close()
        search.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    songs = load_songs(args.limit)
    with service_clients("indexing stopped") as (encoder, search):
        report = index_songs(
            songs, search, encoder, batch_size=args.batch_size, progress=not args.no_progress
        )
    print(report.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
