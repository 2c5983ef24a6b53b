"""Per-image requirement subsets: exact pins copied from requirements.txt, closed under dependencies.

requirements.txt is the full freeze of the development venv (torch with CUDA, playwright, ruff...).
Each image installs only what its service imports, so the auth/ui/search/enricher images carry no
torch. The subsets are generated, never edited by hand:

    python -m deploy.pins           # rewrite deploy/requirements-<image>.txt
    python -m deploy.pins --check   # exit 1 if a file is stale (tests/deploy runs the same check)

Dependencies are resolved from the installed packages' metadata (``Requires-Dist``) for Linux on
CPython 3.11, so run it in the project venv after changing requirements.txt or ``IMAGE_ROOTS``.
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"

# What every HTTP service and job imports through services/common (settings, http, observability).
COMMON = ["fastapi", "uvicorn", "pydantic", "pydantic-settings", "httpx", "tenacity", "prometheus-client"]

# The distributions each image needs directly; their dependencies are added by ``closure``.
# Keep it in step with the code: tests/deploy/test_requirements.py fails when a module an image
# runs imports a package its subset lacks.
IMAGE_ROOTS: dict[str, list[str]] = {
    "encoder": [
        *COMMON, "python-multipart", "torch", "torchvision", "open-clip-torch", "pillow", "numpy",
        "pillow-heif",  # HEIC (iPhone) uploads
        "onnx", "onnxruntime",  # the default runtime exports the towers to ONNX at first start
    ],
    "search": [
        *COMMON, "python-multipart", "qdrant-client", "qdrant-edge-py", "numpy", "tqdm",
        "celery[redis]", "redis",  # queues the songs it shows for enrichment
    ],
    "auth": [*COMMON, "bcrypt", "psycopg[binary]", "psycopg-pool", "email-validator", "cryptography"],
    "enricher": [*COMMON, "celery[redis]", "redis"],
    "ui": [*COMMON, "gradio", "plotly", "pillow", "pillow-heif", "numpy"],
}

# The modules each image runs: its server (or worker) and the jobs compose runs in it. The import scan
# of tests/deploy and ``python -m deploy.verify_subsets`` check the subsets against them.
IMAGE_MODULES: dict[str, list[str]] = {
    "encoder": ["services.encoder.app", "scripts.make_demo_model"],
    "search": ["services.search.app", "scripts.index_catalog", "scripts.reindex", "scripts.build_catalog"],
    "auth": ["services.auth.app", "scripts.seed_demo_user"],
    "enricher": ["services.enricher.worker", "scripts.enrich_all"],
    "ui": ["services.ui.app"],
}

# The deployed encoder installs torch from the PyTorch CPU index (see deploy/Dockerfile); those wheels
# do not depend on the CUDA runtime, so the CUDA packages of the development freeze are left out.
CPU_ONLY_EXCLUDED_PREFIXES = ("nvidia-", "cuda-", "triton")


def subset_path(image: str) -> Path:
    return ROOT / "deploy" / f"requirements-{image}.txt"


def read_pins(path: Path = REQUIREMENTS) -> dict[str, str]:
    """``{canonical name: "name==version"}`` for every exact pin in a requirements file."""
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        pins[canonicalize_name(req.name)] = line
    return pins


def is_excluded(name: str) -> bool:
    return canonicalize_name(name).startswith(CPU_ONLY_EXCLUDED_PREFIXES)


def dependencies(name: str, extras: set[str]) -> list[Requirement]:
    """The installed distribution's requirements that apply on Linux/CPython 3.11 with ``extras``."""
    found = []
    for spec in metadata.distribution(name).requires or []:
        req = Requirement(spec)
        if req.marker is None:
            found.append(req)
            continue
        for extra in extras | {""}:
            env = {**default_environment(), "extra": extra}
            if req.marker.evaluate(env):
                found.append(req)
                break
    return found


def closure(roots: list[str]) -> set[str]:
    """Canonical names of ``roots`` and everything they need, minus the CUDA-only packages."""
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    todo = [Requirement(root) for root in roots]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        key = (name, frozenset(req.extras))
        if key in seen or is_excluded(name):
            continue
        seen.add(key)
        names.add(name)
        todo.extend(dependencies(name, set(req.extras)))
    return names


def render(image: str, pins: dict[str, str]) -> str:
    names = closure(IMAGE_ROOTS[image])
    missing = sorted(names - pins.keys())
    if missing:
        raise SystemExit(f"{image}: not pinned in requirements.txt: {', '.join(missing)}")
    header = (
        f"# Generated by `python -m deploy.pins` from requirements.txt for the {image} image.\n"
        "# Do not edit: change IMAGE_ROOTS in deploy/pins.py or requirements.txt, then regenerate.\n"
    )
    return header + "".join(f"{pins[name]}\n" for name in sorted(names))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the per-image requirement subsets.")
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    pins = read_pins()
    stale = []
    for image in IMAGE_ROOTS:
        text, path = render(image, pins), subset_path(image)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)} ({text.count('==')} pins)")
    if stale:
        print("stale, run `python -m deploy.pins`: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
