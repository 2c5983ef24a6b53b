"""A private Docker engine for the image tests, and a stand-in for the Python base image.

No image registry is reachable from these machines, so ``python:3.11.14-slim-bookworm`` cannot be
pulled. The stand-in is Debian bookworm made by debootstrap with Python 3.11, imported under that
tag: the Dockerfile builds unchanged on it, but it is NOT the official slim image (other packages,
other sizes). The engine gets its own data root, run root and socket, so it never touches a Docker
engine someone else runs on the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.processes import stop

BASE_TAG = "python:3.11.14-slim-bookworm"
PACKAGES = "python3.11,python3.11-venv,python3-pip,ca-certificates"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def tools_missing() -> str | None:
    """Why the engine cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (dockerd, debootstrap)"
    for tool in ("dockerd", "docker", "debootstrap"):
        if shutil.which(tool) is None:
            return f"no {tool} (scripts/install.sh --test installs docker.io and debootstrap)"
    return None


class Engine:
    def __init__(self, root: Path):
        self.root = root
        self.socket = root / "docker.sock"

    def docker(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
        env = {**os.environ, "DOCKER_HOST": f"unix://{self.socket}", "DOCKER_BUILDKIT": "0"}
        out = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, env=env)
        if check and out.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args[:3])} failed: {out.stderr[-3000:]}")
        return out


@contextmanager
def engine(root: Path) -> Iterator[Engine]:
    """dockerd without iptables or a bridge (host networking only), on its own socket."""
    root.mkdir(parents=True, exist_ok=True)
    eng = Engine(root)
    log = (root / "dockerd.log").open("w")
    proc = subprocess.Popen(
        [
            "dockerd",
            "--iptables=false",
            "--bridge=none",
            "--data-root",
            str(root / "data"),
            "--exec-root",
            str(root / "exec"),
            "--pidfile",
            str(root / "dockerd.pid"),
            "-H",
            f"unix://{eng.socket}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while eng.docker("version", check=False, timeout=30).returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not start: {(root / 'dockerd.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield eng
    finally:
        stop(proc, timeout_s=30)
        log.close()
        # dockerd leaves its network namespace mounted under the run root.
        for line in Path("/proc/mounts").read_text().splitlines():
            if (target := line.split()[1]).startswith(str(root)):
                subprocess.run(["umount", target], check=False, capture_output=True, timeout=30)
        shutil.rmtree(root, ignore_errors=True)  # images and layers: gigabytes


def stand_in_base(eng: Engine, cache: Path) -> None:
    """Import a debootstrap'ed bookworm with Python 3.11 as ``BASE_TAG`` (about 40 s, once)."""
    if eng.docker("image", "inspect", BASE_TAG, check=False).returncode == 0:
        return
    rootfs = cache / "bookworm-python"
    if not (rootfs / "usr/bin/python3.11").exists():
        shutil.rmtree(rootfs, ignore_errors=True)
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", "bookworm", str(rootfs)],
            check=True,
            capture_output=True,
            timeout=900,
        )
    bin_dir = rootfs / "usr/local/bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, target in (
        ("python", "/usr/bin/python3.11"),
        ("python3", "/usr/bin/python3.11"),
        ("pip", "/usr/bin/pip3"),
    ):
        link = bin_dir / name
        if not link.is_symlink():
            link.symlink_to(target)
    # Package downloads here go through a TLS proxy whose CA only the host's bundle has.
    shutil.copy(HOST_CA, rootfs / "etc/ssl/certs/ca-certificates.crt")
    (rootfs / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)
    archive = cache / "bookworm-python.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(rootfs, arcname=".")
    path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    eng.docker("import", "--change", f"ENV {path}", str(archive), BASE_TAG, timeout=600)
    archive.unlink()
