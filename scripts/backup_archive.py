"""The backup archive shared by ``scripts/backup.py`` and ``scripts/restore.py``.

One uncompressed tar: ``manifest.json`` first (format, date, each part's size and SHA-256), then the
parts: ``postgres.dump`` (pg_dump custom format, compressed by pg_dump), ``qdrant.tar`` (a
consistent snapshot of the embedded index from the search service) and ``redis.jsonl`` (every key
of the Redis database with its TTL, as Redis DUMP payloads). Reading verifies everything, so a
restore can refuse a damaged archive before it changes anything.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis

from services.common.http import ServiceError

FORMAT = "pixelplay-backup/1"
MANIFEST = "manifest.json"
PARTS = ("postgres.dump", "qdrant.tar", "redis.jsonl")
ENGINES_FILE = "engines.json"  # written by the run command: the embedded engines' URLs


class BadArchive(Exception):
    """The archive is truncated, corrupt or not a PixelPlay backup (the message says which part)."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_archive(dest: Path, parts: dict[str, Path], about: dict[str, str]) -> dict:
    """Write ``dest`` (via a temporary name, so a crash never leaves a half archive under it)."""
    manifest = {
        "format": FORMAT,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **about,
        "parts": {name: {"bytes": p.stat().st_size, "sha256": sha256(p)} for name, p in parts.items()},
    }
    body = json.dumps(manifest, indent=2).encode()
    partial = dest.with_name(dest.name + ".partial")
    with tarfile.open(partial, "w") as tar:
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(body)
        info.mtime = int(time.time())
        tar.addfile(info, fileobj=io.BytesIO(body))
        for name, path in parts.items():
            tar.add(path, arcname=name)
    partial.replace(dest)
    return manifest


@dataclass
class Unpacked:
    manifest: dict
    parts: dict[str, Path]


def read_archive(archive: Path, into: Path) -> Unpacked:
    """Unpack ``archive`` into ``into`` and check every part against the manifest; ``BadArchive``
    says what is wrong (nothing outside ``into`` is touched)."""
    if not archive.is_file():
        raise BadArchive(f"{archive}: no such file")
    try:
        with tarfile.open(archive, "r:") as tar:
            names = tar.getnames()  # reads to the end: a truncated archive fails here
            if not names or names[0] != MANIFEST:
                raise BadArchive(f"{archive}: not a PixelPlay backup (no {MANIFEST} first)")
            unexpected = set(names) - {MANIFEST, *PARTS}
            if unexpected:
                raise BadArchive(f"{archive}: unexpected members {sorted(unexpected)}")
            tar.extractall(into, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BadArchive(f"{archive}: truncated or not a tar archive ({exc})") from None
    try:
        manifest = json.loads((into / MANIFEST).read_text())
    except ValueError as exc:
        raise BadArchive(f"{archive}: the manifest is not JSON ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise BadArchive(f"{archive}: format {manifest.get('format')!r}, this version reads {FORMAT!r}")
    parts: dict[str, Path] = {}
    for name in PARTS:
        expected = manifest.get("parts", {}).get(name)
        path = into / name
        if expected is None or not path.is_file():
            raise BadArchive(f"{archive}: the part {name} is missing")
        if path.stat().st_size != expected["bytes"]:
            raise BadArchive(
                f"{archive}: {name} has {path.stat().st_size} bytes, the manifest says {expected['bytes']}"
            )
        if sha256(path) != expected["sha256"]:
            raise BadArchive(f"{archive}: {name} does not match its SHA-256 in the manifest (corrupt)")
        parts[name] = path
    return Unpacked(manifest, parts)


def engine_urls(data_dir: Path, database_url: str | None, redis_url: str | None) -> tuple[str, str]:
    """The Postgres and Redis URLs: the configured servers, else the run command's embedded ones."""
    found: dict[str, str] = {}
    path = data_dir / ENGINES_FILE
    if path.exists():
        found = json.loads(path.read_text())
    database_url = database_url or found.get("DATABASE_URL")
    redis_url = redis_url or found.get("REDIS_URL")
    if not database_url or not redis_url:
        raise SystemExit(
            f"no DATABASE_URL/REDIS_URL set and no {path}: start the app first (scripts/run.sh),"
            " or set the URLs of your servers"
        )
    return database_url, redis_url


def pg_tool(name: str) -> str:
    """``pg_dump`` / ``pg_restore`` from the pgserver wheel (PostgreSQL 16, like compose's server)."""
    from pgserver._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def run_command(action: Callable[[], object], failed: str, refused: str = "refused") -> int:
    """Run a backup or a restore as a command: 0 when done; 3 and ``refused`` when the archive was
    refused before anything changed; 2 and ``failed`` when the stack (search, Postgres, Redis) failed."""
    try:
        action()
    except BadArchive as exc:
        print(f"{refused}: {exc}", file=sys.stderr)
        return 3
    except (ServiceError, subprocess.CalledProcessError, redis.RedisError) as exc:
        print(f"{failed}: {exc}", file=sys.stderr)
        return 2
    return 0
