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

from scripts import index_catalog, reindex
from scripts.index_catalog import service_clients
from services.common.contracts.search import IndexStatus


def active_model(status: IndexStatus) -> str | None:
    """The model the active version was built with (None: no index yet)."""
    return next((v.model_id for v in status.versions if v.version == status.active), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--strict-model",
        action="store_true",
        help="refuse to start on an index built with another model instead of re-indexing",
    )
    args, job_args = parser.parse_known_args(argv)  # the rest (--limit...) go to the job
    with service_clients("indexing stopped") as (encoder, search):
        model_id = encoder.info().model_id
        built_with = active_model(search.index_status())
    if built_with is None or built_with == model_id:
        return index_catalog.main(job_args)
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
    return reindex.main(job_args)


if __name__ == "__main__":
    sys.exit(main())
