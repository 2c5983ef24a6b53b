"""How much each image's Python dependencies weigh, measured from the installed venv.

    python -m deploy.footprint

Sizes are the bytes listed in each distribution's RECORD in this venv. torch here is the CUDA build
from PyPI, so the encoder figure is an upper bound for the CPU wheel the image installs; the CUDA
runtime packages themselves are not counted (the images leave them out).
"""

from __future__ import annotations

import functools
from importlib import metadata

from deploy import pins


@functools.cache
def installed_bytes(name: str) -> int:
    """Bytes of the files one installed distribution put on disk (its RECORD sizes)."""
    files = metadata.distribution(name).files or []
    return sum(int(f.size) for f in files if f.size)


def total_bytes(names: set[str]) -> int:
    return sum(installed_bytes(name) for name in names)


def main() -> None:
    full = set(pins.read_pins())
    full_mb = total_bytes(full) / 1e6
    print(f"requirements.txt: {len(full)} packages, {full_mb:,.0f} MB installed (incl. CUDA, dev tools)")
    for image in pins.IMAGE_ROOTS:
        names = set(pins.read_pins(pins.subset_path(image)))
        mb = total_bytes(names) / 1e6
        print(f"{image:9s} {len(names):3d} packages {mb:8,.0f} MB  ({mb / full_mb:.1%} of the full set)")


if __name__ == "__main__":
    main()
