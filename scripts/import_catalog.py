"""Import your own catalog: a CSV with at least title and artist (format: docs/catalog.md).

Every row is validated (the report names each bad row by line number; nothing good is dropped for
a bad one), each song gets a description from what the row has, and only new or changed songs are
embedded (encoder) and upserted (search's internal API): importing the same file twice changes
nothing. A row with a Spotify id another catalog already holds (the bundled one, say) replaces that
song: one recording is one song, found once; the report names each such row. The songs carry
``source`` = ``--source``, which the UI's filters offer. With ``--replace`` the other catalogs (the
bundled one included) are then deleted; without it the import sits beside them.

    python -m scripts.import_catalog my-songs.csv --source mine [--replace] [--report report.txt]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from scripts.index_catalog import Encoder, chunks
from services.common.catalog_import import CatalogFileError, ImportReport, read_catalog
from services.common.contracts.search import ImportedHash, IndexItem
from services.common.http import ServiceError

if TYPE_CHECKING:
    from services.common.clients.search import SearchClient

UPSERT_CHUNK = 1000
CHECK_CHUNK = 2000


@dataclass
class ImportResult:
    report: ImportReport
    unchanged: int = 0
    upserted: int = 0
    texts: int = 0
    deleted: int = 0  # other catalogs' songs removed by --replace
    taken_over: list[str] = field(default_factory=list)  # one line per other catalog's song replaced

    def lines(self) -> list[str]:
        return [
            *self.report.lines(),
            f"unchanged (already imported as is): {self.unchanged:,}",
            f"embedded texts: {self.texts:,}; songs upserted: {self.upserted:,}",
            f"other catalogs' songs replaced (same Spotify id): {len(self.taken_over):,}",
            *self.taken_over,
            *([f"other catalogs' songs deleted: {self.deleted:,}"] if self.deleted else []),
        ]


def import_catalog(
    data: bytes,
    source: str,
    search: SearchClient,
    encoder: Encoder,
    *,
    replace: bool = False,
    batch_size: int = 64,
) -> ImportResult:
    """Validate ``data`` (CSV bytes) and upsert its new or changed songs as catalog ``source``;
    ``search`` carries the service token."""
    report = read_catalog(data, source)
    result = ImportResult(report)
    info = encoder.info()
    model_id = info.model_id
    search.index_ensure(model_id, info.dim)
    same: set[str] = set()
    for part in chunks(report.songs, CHECK_CHUNK):
        hashes = [
            ImportedHash.model_construct(track_id=s.song.track_id, import_hash=s.import_hash) for s in part
        ]
        same.update(search.catalog_unchanged(hashes))
    todo = [s for s in report.songs if s.song.track_id not in same]
    result.unchanged = len(report.songs) - len(todo)
    line_of = {s.song.track_id: s.line for s in todo}
    for part in chunks(list(line_of), CHECK_CHUNK):
        result.taken_over += [
            f"line {line_of[t.track_id]}: replaces {t.title!r} by {t.artist} of catalog {t.source!r}"
            for t in search.catalog_taken(source, list(part))
        ]
    texts = sorted({s.song.description for s in todo})
    result.texts = len(texts)
    vectors: dict[str, list[float]] = {}
    for batch in chunks(texts, max(1, batch_size)):
        vectors.update(zip(batch, encoder.encode_texts(list(batch)), strict=True))
    for part in chunks(todo, UPSERT_CHUNK):
        items = [
            IndexItem.model_construct(
                song=s.song, vector=vectors[s.song.description], source=source, import_hash=s.import_hash
            )
            for s in part
        ]
        result.upserted += search.index_points(model_id, items)
    if replace:
        result.deleted = search.catalog_replace(source).deleted
    return result


def main(argv: list[str] | None = None) -> int:
    from scripts.index_catalog import clients

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="the catalog file")
    parser.add_argument(
        "--source", required=True, help="the catalog's name: lowercase letters, digits, - and _"
    )
    parser.add_argument("--replace", action="store_true", help="delete every other catalog after the import")
    parser.add_argument("--batch-size", type=int, default=64, help="texts per encoder request")
    parser.add_argument("--report", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    encoder, search = clients()
    try:
        result = import_catalog(
            args.csv.read_bytes(),
            args.source,
            search,
            encoder,
            replace=args.replace,
            batch_size=args.batch_size,
        )
    except (CatalogFileError, OSError) as exc:
        print(f"import refused: {exc}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        print(f"import stopped: {exc}", file=sys.stderr)
        return 3
    finally:
        encoder.close()
        search.close()
    text = "\n".join(result.lines())
    print(text)
    if args.report:
        args.report.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
