"""deploy/install_torch.sh, the torch step of scripts/install.sh and of the encoder image: torch and
torchvision from a PyTorch CPU index when it answers, in a version pip then keeps for the lock's pin,
and PyPI (nothing installed here) when it does not.

PyTorch's index is the outside world: a local index with two tiny wheels stands in for it."""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy import compose_model as cm

SCRIPT = cm.ROOT / "deploy" / "install_torch.sh"
LOCK = "numpy==2.4.6\ntorch==2.14.1\n    # via pixelplay\ntorchvision==0.29.1\n"


def fake_wheel(folder: Path, name: str, version: str) -> Path:
    """A pure-Python wheel ``name==version`` holding an empty package."""
    dist_info = f"{name}-{version}.dist-info"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    files = {
        f"{name}/__init__.py": "",
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{dist_info}/RECORD"] = "".join(f"{f},,\n" for f in [*files, f"{dist_info}/RECORD"])
    with zipfile.ZipFile(path, "w") as whl:
        for member, text in files.items():
            whl.writestr(member, text)
    return path


@pytest.fixture(scope="module")
def cpu_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PEP 503 index at http://127.0.0.1:PORT/whl/cpu with torch 2.14.1+cpu and torchvision 0.29.1+cpu."""
    root = tmp_path_factory.mktemp("index")
    for name, version in [("torch", "2.14.1+cpu"), ("torchvision", "0.29.1+cpu")]:
        page = root / "whl" / "cpu" / name
        page.mkdir(parents=True)
        wheel = fake_wheel(page, name, version)
        href = wheel.name.replace("+", "%2B")
        (page / "index.html").write_text(f'<html><body><a href="{href}">{wheel.name}</a></body></html>')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """An empty venv without pip of its own (as in the image); the test's pip installs into it."""
    venv.create(tmp_path / "venv", with_pip=False)
    (tmp_path / "requirements.txt").write_text(LOCK)
    return tmp_path


def run(
    target: Path, index: str, lock: str = "requirements.txt", path: str = "/usr/bin:/bin"
) -> subprocess.CompletedProcess:
    path = f"{Path(sys.executable).parent}:{path}"  # `pip` beside this Python
    return subprocess.run(
        ["bash", str(SCRIPT), str(target / "venv" / "bin" / "python"), str(target / lock), index],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": path, "HOME": str(target)},
    )


def installed(target: Path) -> dict[str, str]:
    site = next((target / "venv" / "lib").glob("python3*/site-packages"))
    return dict(p.name.removesuffix(".dist-info").split("-", 1) for p in site.glob("*.dist-info"))


def pip_keeps(target: Path, *requirements: str) -> bool:
    """Whether pip finds ``requirements`` already satisfied (installs nothing, asks no index)."""
    python = str(target / "venv" / "bin" / "python")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--no-index",
            "--dry-run",
            *requirements,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.returncode == 0 and "Would install" not in out.stdout


def test_torch_and_torchvision_come_from_the_cpu_index(cpu_index: str, target: Path) -> None:
    result = run(target, cpu_index)
    assert result.returncode == 0, result.stderr
    assert f"torch 2.14.1: from {cpu_index}" in result.stdout
    assert installed(target) == {"torch": "2.14.1+cpu", "torchvision": "0.29.1+cpu"}  # numpy: the lock's job
    assert pip_keeps(target, "torch==2.14.1", "torchvision==0.29.1")


def test_an_index_that_does_not_answer_leaves_torch_to_pypi(target: Path) -> None:
    result = run(target, "http://127.0.0.1:9/whl/cpu")  # the discard port: nothing listens
    assert result.returncode == 0, result.stderr
    assert (
        "from PyPI, with 4.3 GB of CUDA libraries: http://127.0.0.1:9/whl/cpu does not answer"
        in result.stderr
    )
    assert installed(target) == {}


def test_an_empty_index_means_pypi(target: Path) -> None:
    result = run(target, "")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "torch 2.14.1: from PyPI (with its CUDA libraries)"
    assert installed(target) == {}


def test_auto_leaves_torch_to_pypi_where_an_nvidia_gpu_is(target: Path) -> None:
    bin_dir = target / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "nvidia-smi").chmod(0o755)
    result = run(target, "auto", path=f"{bin_dir}:/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "torch 2.14.1: from PyPI, with its CUDA libraries (an NVIDIA GPU is here)"
    assert installed(target) == {}


def test_a_lock_without_torch_needs_no_index(cpu_index: str, target: Path) -> None:
    (target / "search.txt").write_text("numpy==2.4.6\n")
    result = run(target, cpu_index, lock="search.txt")
    assert result.returncode == 0 and result.stdout == result.stderr == ""
    assert installed(target) == {}
