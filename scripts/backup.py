"""Back up a running PixelPlay into one archive: Postgres, the song index and Redis.

    python -m scripts.backup [pixelplay-backup.tar]

Talks to the running stack: ``pg_dump`` (pgserver's PostgreSQL 16 client) on DATABASE_URL, the
search service for a consistent snapshot of the embedded index (only search opens Qdrant), and
Redis on REDIS_URL. With the embedded engines, the URLs come from the run command's
``var/engines.json``. Restore with ``scripts/restore.py``.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from scripts.backup_archive import engine_urls, pg_tool, run_command, write_archive
from services.common.clients.search import SearchClient
from services.common.settings import get_common_settings


def dump_postgres(database_url: str, dest: Path) -> None:
    subprocess.run(
        [pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={dest}", f"--dbname={database_url}"],
        check=True,
    )


def dump_redis(redis_url: str, dest: Path) -> int:
    """Every key of the database with its TTL, as DUMP payloads (restored with RESTORE)."""
    client = redis.Redis.from_url(redis_url)
    keys = 0
    with dest.open("w") as out:
        for key in client.scan_iter(count=1000):
            value = client.dump(key)
            if value is None:  # expired between SCAN and DUMP
                continue
            ttl_ms = max(0, client.pttl(key))
            record = {"key": base64.b64encode(key).decode(), "ttl_ms": ttl_ms}
            record["value"] = base64.b64encode(value).decode()
            out.write(json.dumps(record) + "\n")
            keys += 1
    client.close()
    return keys


def backup(dest: Path) -> dict:
    settings = get_common_settings()
    database_url, redis_url = engine_urls(settings.data_dir, settings.database_url, settings.redis_url)
    token = settings.service_token.get_secret_value()
    with tempfile.TemporaryDirectory(prefix="pixelplay-backup-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        dump_postgres(database_url, work / "postgres.dump")
        with SearchClient(settings.search_url, token=token) as search:
            (work / "qdrant.tar").write_bytes(search.index_snapshot())
        keys = dump_redis(redis_url, work / "redis.jsonl")
        parts = {name: work / name for name in ("postgres.dump", "qdrant.tar", "redis.jsonl")}
        manifest = write_archive(dest, parts, {"redis_keys": str(keys)})
    sizes = ", ".join(f"{name} {p['bytes'] / 1e6:.1f} MB" for name, p in manifest["parts"].items())
    print(f"backup written to {dest} in {time.perf_counter() - started:.1f} s: {sizes}, {keys} Redis keys")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = f"pixelplay-backup-{time.strftime('%Y%m%d-%H%M%S')}.tar"
    parser.add_argument("archive", nargs="?", type=Path, default=Path(default))
    args = parser.parse_args(argv)
    return run_command(
        lambda: backup(args.archive), failed=f"backup failed, nothing written to {args.archive}"
    )


if __name__ == "__main__":
    sys.exit(main())
