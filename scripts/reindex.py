"""Re-index without downtime: new collection version, embed everything, switch the alias, drop the old.

Searches keep answering from the old version until the alias switch, then from the new one. Use it
after changing the CLIP model (the old index is refused for the new model) or the descriptions.
Enrichment already stored for a song is carried over into the new version, and so is every
imported catalog (``scripts/import_catalog.py``): its songs are read from the old version and their
descriptions embedded with the current model, keeping their source and import hash.

    python -m scripts.reindex [--limit N] [--batch-size 64] [--keep-old]
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from scripts.index_catalog import (
    UPSERT_CHUNK,
    Encoder,
    IndexReport,
    add_arguments,
    chunks,
    index_songs,
    load_songs,
    service_clients,
)
from services.common.contracts.search import Activation, IndexItem
from services.common.contracts.songs import Song

if TYPE_CHECKING:
    from services.common.clients.search import SearchClient


def reindex(
    songs: list[Song],
    search: SearchClient,
    encoder: Encoder,
    *,
    batch_size: int = 64,
    keep_old: bool = False,
    progress: bool = True,
) -> tuple[IndexReport, Activation]:
    """Fill a new version with the encoder's current model and activate it; on failure the new
    version is dropped and the alias still points at the old one."""
    info = encoder.info()
    old = search.index_status().active
    version = search.index_create_version(info.model_id, info.dim).version
    try:
        report = index_songs(
            songs, search, encoder, batch_size=batch_size, version=version, progress=progress
        )
        if old is not None:
            report.imported = carry_imports(old, version, search, encoder, batch_size=batch_size)
    except BaseException:
        search.index_drop(version)
        raise
    return report, search.index_activate(version, drop_old=not keep_old)


def carry_imports(old: str, new: str, search: SearchClient, encoder: Encoder, *, batch_size: int = 64) -> int:
    """Copy every imported song from version ``old`` into ``new``, its description embedded with
    the encoder's model; the count copied. Runs after the bundled catalog, so an import that shares
    a track id with a bundled song still wins, as it did in the old version."""
    model_id = encoder.info().model_id
    copied = 0
    after: str | None = None
    while True:
        page = search.catalog_imported(old, after, limit=UPSERT_CHUNK)
        items = page.items
        texts = sorted({i.song.description for i in items})
        vectors: dict[str, list[float]] = {}
        for batch in chunks(texts, max(1, batch_size)):
            vectors.update(zip(batch, encoder.encode_texts(list(batch)), strict=True))
        if items:
            points = [IndexItem.model_construct(**dict(i), vector=vectors[i.song.description]) for i in items]
            copied += search.index_points(model_id, points, new)
        after = page.next
        if after is None:
            return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument(
        "--keep-old", action="store_true", help="keep the previous version (roll back by hand)"
    )
    args = parser.parse_args(argv)
    songs = load_songs(args.limit)
    with service_clients("re-index stopped, the alias is unchanged") as (encoder, search):
        report, activation = reindex(
            songs,
            search,
            encoder,
            batch_size=args.batch_size,
            keep_old=args.keep_old,
            progress=not args.no_progress,
        )
    print(report.line())
    print(f"imported catalogs' songs carried over: {report.imported:,}")
    print(f"alias now -> {activation.active} (was {activation.previous}); dropped {activation.dropped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
