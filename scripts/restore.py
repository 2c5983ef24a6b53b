"""Restore a PixelPlay backup (from ``scripts/backup.py``) into a running stack.

    python -m scripts.restore pixelplay-backup.tar

The whole archive is checked first (manifest, every part's size and SHA-256, the Postgres dump's
table of contents): a truncated or corrupt archive stops here with a message, before any data is
touched. Then the song index (through the search service), Postgres (``pg_restore --clean`` in one
transaction) and Redis (the database's keys replaced) are put back. On a wiped ``var/``, start the
app first (``scripts/run.sh``), then restore.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import redis

from scripts.backup_archive import BadArchive, Unpacked, engine_urls, pg_tool, read_archive, run_command
from services.common.clients.search import SearchClient
from services.common.settings import get_common_settings


def check_dump(dump: Path) -> None:
    listed = subprocess.run([pg_tool("pg_restore"), "--list", str(dump)], capture_output=True, text=True)
    if listed.returncode != 0:
        raise BadArchive(f"postgres.dump is not a readable pg_dump archive: {listed.stderr.strip()}")


def restore_postgres(database_url: str, dump: Path) -> None:
    subprocess.run(
        [pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
         "--exit-on-error", f"--dbname={database_url}", str(dump)],
        check=True,
    )  # fmt: skip


def restore_redis(redis_url: str, jsonl: Path) -> int:
    client = redis.Redis.from_url(redis_url)
    records = [json.loads(line) for line in jsonl.read_text().splitlines() if line]
    pipe = client.pipeline(transaction=True)
    pipe.flushdb()
    for record in records:
        key, value = base64.b64decode(record["key"]), base64.b64decode(record["value"])
        pipe.restore(key, record["ttl_ms"], value, replace=True)
    pipe.execute()
    client.close()
    return len(records)


def restore(archive: Path) -> None:
    settings = get_common_settings()
    database_url, redis_url = engine_urls(settings.data_dir, settings.database_url, settings.redis_url)
    with tempfile.TemporaryDirectory(prefix="pixelplay-restore-") as tmp:
        unpacked: Unpacked = read_archive(archive, Path(tmp))
        check_dump(unpacked.parts["postgres.dump"])
        print(f"{archive}: backup of {unpacked.manifest['created_at']}, every part checked", flush=True)
        token = settings.service_token.get_secret_value()
        with SearchClient(settings.search_url, token=token) as search:
            search.index_restore(unpacked.parts["qdrant.tar"].read_bytes())
        print("song index restored", flush=True)
        restore_postgres(database_url, unpacked.parts["postgres.dump"])
        print("Postgres restored", flush=True)
        keys = restore_redis(redis_url, unpacked.parts["redis.jsonl"])
        print(f"Redis restored ({keys} keys)", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path)
    args = parser.parse_args(argv)
    refused = "restore refused, nothing was changed"
    return run_command(lambda: restore(args.archive), failed="restore failed", refused=refused)


if __name__ == "__main__":
    sys.exit(main())
