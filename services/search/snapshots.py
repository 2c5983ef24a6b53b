"""Backups of the embedded index: a consistent tar of the qdrant-edge folder, and putting one back.

The copy is taken with every shard flushed and closed and every read and write held (the store's
``quiesced``), so it is what a clean stop would leave on disk; the hold lasts as long as the copy
(about a second for the full catalog). With a Qdrant server, its own snapshot API does this job.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path

from services.search.storage.edge import ALIAS_FILE, EdgeStore


class BadSnapshot(ValueError):
    """The archive is not a snapshot of this index; nothing was changed."""


def write_snapshot(store: EdgeStore, dest: Path) -> None:
    with store.quiesced() as root, tarfile.open(dest, "w") as tar:
        for item in sorted(root.iterdir()):
            tar.add(item, arcname=item.name)


def restore_snapshot(store: EdgeStore, archive: Path) -> None:
    """Replace the index with the snapshot's: unpacked beside it first, swapped in by two renames."""
    staging = store.root.with_name(f".{store.root.name}.restoring")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(staging, filter="data")  # refuses absolute paths and "..": no escape
        except (tarfile.TarError, OSError) as exc:
            raise BadSnapshot(f"not a readable index snapshot: {exc}") from None
        if not (staging / ALIAS_FILE).exists():
            raise BadSnapshot(f"not an index snapshot: it has no {ALIAS_FILE}")
        old = store.root.with_name(f".{store.root.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        with store.quiesced() as root:
            os.rename(root, old)
            os.rename(staging, root)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
