"""Re-index without downtime: new collection version, embed everything, switch the alias, drop the old.

Searches keep answering from the old version until the alias switch, then from the new one. Use it
after changing the CLIP model (the old index is refused for the new model) or the descriptions.
Enrichment already stored for a song is carried over into the new version.

    python -m scripts.reindex [--limit N] [--batch-size 64] [--keep-old]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scripts.index_catalog import (
    Encoder,
    IndexReport,
    add_arguments,
    index_songs,
    load_songs,
    service_clients,
)
from services.common.schemas import Song


def reindex(
    songs: list[Song],
    search: Any,
    encoder: Encoder,
    *,
    batch_size: int = 64,
    keep_old: bool = False,
    progress: bool = True,
) -> tuple[IndexReport, dict[str, Any]]:
    """Fill a new version with the encoder's current model and activate it; on failure the new
    version is dropped and the alias still points at the old one."""
    info = encoder.info()
    version = search.index_create_version(info["model_id"], int(info["dim"]))["version"]
    try:
        report = index_songs(
            songs, search, encoder, batch_size=batch_size, version=version, progress=progress
        )
    except BaseException:
        search.index_drop(version)
        raise
    return report, search.index_activate(version, drop_old=not keep_old)


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
    print(
        f"alias now -> {activation['active']} (was {activation['previous']}); dropped {activation['dropped']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
