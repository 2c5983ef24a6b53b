"""Bring the song index up to date with the encoder's model; the run command calls this on every start.

- Empty index, or one built with the encoder's model: build or resume it (songs already stored are
  skipped, so a normal start costs seconds).
- Built with another model (the user switched between ``--demo-model`` and real weights, or changed
  checkpoint): build a new collection version with the new model through the alias re-index, with
  progress. The old version stays the alias target until the new one is complete, then is dropped.
- ``--strict-model`` refuses the second case instead, for operators who re-index on their own terms.

    python -m scripts.index_on_start [--limit N] [--strict-model]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scripts.index_catalog import add_arguments, clients, index_songs, load_songs
from scripts.reindex import reindex
from services.common.http import ServiceError


def active_model(status: dict[str, Any]) -> str | None:
    """The model the active version was built with (None: no index yet)."""
    active = status.get("active")
    return next((v["model_id"] for v in status["versions"] if v["version"] == active), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument(
        "--strict-model",
        action="store_true",
        help="refuse to start on an index built with another model instead of re-indexing",
    )
    args = parser.parse_args(argv)
    encoder, search = clients()
    try:
        model_id = encoder.info()["model_id"]
        built_with = active_model(search.index_status())
        songs = load_songs(args.limit)
        progress = not args.no_progress
        if built_with is None or built_with == model_id:
            report = index_songs(songs, search, encoder, batch_size=args.batch_size, progress=progress)
            print(report.line())
            return 0
        if args.strict_model:
            print(
                f"the index was built with model '{built_with}', the encoder serves '{model_id}';"
                " re-index with scripts/reindex.py, or start without --strict-model to re-index now",
                file=sys.stderr,
            )
            return 3
        print(
            f"the model changed ('{built_with}' -> '{model_id}'): building a new index version;"
            " the old one stays active until the new one is complete",
            flush=True,
        )
        report, activation = reindex(songs, search, encoder, batch_size=args.batch_size, progress=progress)
        print(report.line())
        print(f"alias now -> {activation['active']}; dropped {', '.join(activation['dropped']) or 'nothing'}")
        return 0
    except ServiceError as exc:
        print(f"indexing stopped: {exc}", file=sys.stderr)
        return 2
    finally:
        encoder.close()
        search.close()


if __name__ == "__main__":
    sys.exit(main())
