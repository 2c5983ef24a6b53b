"""What the dependency tests read: pyproject.toml's groups, the locks scripts/lock.sh writes, and
the modules each image runs."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
FULL_LOCK = ROOT / "requirements.txt"
CHECKS_LOCK = ROOT / "deploy" / "requirements-checks.txt"
SERVICES = ["encoder", "search", "auth", "enricher", "ui"]

# The modules each image runs: its server (or worker) and the jobs compose runs in it. The import
# scan of test_requirements.py checks each image's lock against them.
IMAGE_MODULES: dict[str, list[str]] = {
    "encoder": ["services.encoder.app", "scripts.make_demo_model"],
    "search": ["services.search.app", "scripts.index_catalog", "scripts.reindex", "scripts.build_catalog"],
    "auth": ["services.auth.app", "scripts.seed_demo_user"],
    "enricher": ["services.enricher.worker", "scripts.enrich_all"],
    "ui": ["services.ui.app"],
}

# The CUDA runtime that PyPI's torch pins in its own metadata; no lock lists it (scripts/lock.sh).
CUDA_PREFIXES = ("nvidia-", "cuda-", "triton")


def lock_path(service: str) -> Path:
    return ROOT / "deploy" / f"requirements-{service}.txt"


def read_lock(path: Path) -> dict[str, str]:
    """``{canonical name: version}`` of every ``name==version`` line in a lock."""
    pins = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"{path.name}: {line} is not an exact pin"
            pins[canonicalize_name(req.name)] = spec.version
    return pins


def is_cuda(name: str) -> bool:
    return canonicalize_name(name).startswith(CUDA_PREFIXES)


def project() -> dict:
    return tomllib.loads(PYPROJECT.read_text())


def group(name: str | None) -> list[Requirement]:
    """What installing pixelplay with the extra ``name`` asks for (None: the core alone): the core
    dependencies plus the extra's, with references to the project's own extras expanded."""
    meta = project()["project"]
    found = [Requirement(spec) for spec in meta["dependencies"]]
    todo = [name] if name else []
    seen: set[str] = set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for spec in meta["optional-dependencies"][extra]:
            req = Requirement(spec)
            if canonicalize_name(req.name) == canonicalize_name(meta["name"]):
                todo.extend(req.extras)
            else:
                found.append(req)
    return found


def dependencies(name: str, extras: set[str]) -> list[Requirement]:
    """The installed distribution's requirements that apply on Linux/CPython 3.11 with ``extras``."""
    try:
        distribution = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise AssertionError(f"{name} is not installed here: run scripts/install.sh") from None
    found = []
    for spec in distribution.requires or []:
        req = Requirement(spec)
        if req.marker is None or any(
            req.marker.evaluate({**default_environment(), "extra": extra}) for extra in extras | {""}
        ):
            found.append(req)
    return found
