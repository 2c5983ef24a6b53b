"""Build the song catalog from the shipped Spotify table and report what was merged and dropped.

    python -m scripts.build_catalog                 # report only
    python -m scripts.build_catalog --out var/catalog.jsonl.gz   # also write one JSON song per line

The indexing job reads the table through the same code (services/common/catalog.py), so this
command is for inspecting the catalog, not a required step.
"""

from __future__ import annotations

import argparse
import gzip
from collections import Counter
from pathlib import Path

from services.common.catalog import load_catalog
from services.common.contracts.songs import DERIVED_FIELDS
from services.common.settings import get_common_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, default=get_common_settings().catalog_path)
    parser.add_argument("--out", type=Path, help="write the songs as gzip'd JSON lines")
    args = parser.parse_args()

    songs, report = load_catalog(args.catalog)
    print("\n".join(report.lines()))
    genres = Counter(song.genre for song in songs)
    print("primary genres: " + ", ".join(f"{g} {n:,}" for g, n in genres.most_common()))
    print(f"distinct descriptions: {len({s.description for s in songs}):,}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(args.out, "wt", encoding="utf-8") as handle:
            for song in songs:
                handle.write(song.model_dump_json(exclude=DERIVED_FIELDS) + "\n")
        print(f"wrote {len(songs):,} songs to {args.out}")


if __name__ == "__main__":
    main()
