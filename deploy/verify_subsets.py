"""Install each image's requirement subset into an empty venv and import the modules the image runs.

What a ``docker build`` of the deps stage would do, without Docker: it proves the subset resolves on
its own (``pip check``) and that nothing the code imports is missing. Needs the package index.

    python -m deploy.verify_subsets                 # search, auth, enricher, ui
    python -m deploy.verify_subsets encoder --torch-index-url https://download.pytorch.org/whl/cpu
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deploy import pins

DEFAULT_IMAGES = [image for image in pins.IMAGE_ROOTS if image != "encoder"]  # torch needs its own index


def pip(venv_python: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv_python), *args, "--disable-pip-version-check"],
        check=True,
        timeout=3600,
    )


def verify(image: str, workdir: Path, torch_index_url: str | None) -> float:
    """Seconds taken; raises ``CalledProcessError`` when installing, checking or importing fails."""
    started = time.perf_counter()
    venv = workdir / image
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    requirements = pins.subset_path(image)
    if image == "encoder" and torch_index_url:
        torch_pins = [line for line in requirements.read_text().splitlines() if line.startswith("torch")]
        pip(python, "install", "--no-cache-dir", "--index-url", torch_index_url, *torch_pins)
    pip(python, "install", "--no-cache-dir", "-q", "-r", str(requirements))
    pip(python, "check")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(pins.ROOT),
        "PIXELPLAY_DATA_DIR": str(workdir / "var"),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    modules = pins.IMAGE_MODULES[image]
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    subprocess.run([str(python), "-c", code, *modules], check=True, cwd=workdir, env=env, timeout=600)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", default=DEFAULT_IMAGES, choices=list(pins.IMAGE_ROOTS))
    parser.add_argument("--torch-index-url", help="index for torch/torchvision (the encoder image)")
    args = parser.parse_args(argv)
    failed = []
    with tempfile.TemporaryDirectory(prefix="pixelplay-subsets-") as tmp:
        for image in args.images:
            try:
                seconds = verify(image, Path(tmp), args.torch_index_url)
                modules = ", ".join(pins.IMAGE_MODULES[image])
                print(f"{image}: installs alone, pip check clean, imports {modules} ({seconds:.0f} s)")
            except subprocess.SubprocessError as exc:
                failed.append(image)
                print(f"{image}: FAILED: {exc}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
