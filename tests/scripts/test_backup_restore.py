"""Backups that restore, on the real embedded stack: back up users, history and enriched songs, wipe
``var/``, start again, restore, and the logins, history and search results are the same. A truncated
or corrupt archive is refused before anything changes."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.processes import ROOT
from tests.run_stack import TOKEN, run_command, stack_env, wait_for_line

pytestmark = pytest.mark.slow
INTERNAL = {"X-Service-Token": TOKEN}


def png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, "PNG")
    return buf.getvalue()


def script(env: dict[str, str], name: str, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", f"scripts.{name}", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def login(auth: str, password: str) -> httpx.Response:
    return httpx.post(f"{auth}/login", json={"login": "rita", "password": password}, timeout=10)


def what_users_see(env: dict[str, str], token: str) -> dict:
    """Everything the test compares before and after: history, photo search results, enrichment."""
    auth, search = env["PIXELPLAY_AUTH_URL"], env["PIXELPLAY_SEARCH_URL"]
    bearer = {"Authorization": f"Bearer {token}"}
    history = httpx.get(f"{auth}/history", headers=bearer, timeout=10).json()
    results = []
    for color in ((200, 120, 30), (20, 60, 200)):
        photo = {"file": ("photo.png", png(color), "image/png")}
        hits = httpx.post(f"{search}/search/image", files=photo, timeout=60).json()["hits"]
        results.append([(h["song"]["track_id"], round(h["score"], 5), h["song"]["art_url"]) for h in hits])
    stats = httpx.get(f"{search}/stats/enrichment", headers=INTERNAL, timeout=10).json()
    return {"history": history, "results": results, "enrichment": stats}


def make_state(env: dict[str, str]) -> str:
    """A user with a session and history, and some enriched songs; returns the session token."""
    auth, search = env["PIXELPLAY_AUTH_URL"], env["PIXELPLAY_SEARCH_URL"]
    account = {"username": "rita", "email": "rita@example.org", "password": "a long passphrase 42"}
    assert httpx.post(f"{auth}/register", json=account, timeout=10).status_code == 201
    token = login(auth, account["password"]).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    hits = httpx.post(
        f"{search}/search/image", files={"file": ("p.png", png((200, 120, 30)), "image/png")}, timeout=60
    ).json()["hits"]
    for kind, text in (("image", None), ("text", "warm evening"), ("hybrid", "rainy")):
        entry = {"kind": kind, "text": text, "result_track_ids": [h["song"]["track_id"] for h in hits[:5]]}
        assert httpx.post(f"{auth}/history", json=entry, headers=bearer, timeout=10).status_code == 201
    for hit in hits[:3]:  # the enricher's write path into the index
        update = {
            "enrich_status": "ok",
            "enriched_at": time.time(),
            "art_url": f"https://art.example/{hit['song']['track_id']}.jpg",
            "itunes_id": 42,
        }
        path = f"{search}/songs/{hit['song']['track_id']}/enrichment"
        assert httpx.patch(path, json=update, headers=INTERNAL, timeout=10).status_code == 200
    return token


def test_backup_wipe_restore_gives_back_logins_history_and_results(tiny_model_dir, tmp_path):
    archive = tmp_path / "backup.tar"
    with stack_env(tiny_model_dir) as env:
        var = Path(env["PIXELPLAY_DATA_DIR"])
        with run_command(env) as (proc, out):
            wait_for_line(out, "Ctrl-C stops everything", proc)
            token = make_state(env)
            before = what_users_see(env, token)
            made = script(env, "backup", str(archive))
            assert made.returncode == 0, made.stderr
        assert before["enrichment"]["ok"] == 3
        assert before["history"]["total"] == 3

        shutil.rmtree(var)
        with run_command(env) as (proc, out):
            wait_for_line(out, "Ctrl-C stops everything", proc)
            auth = env["PIXELPLAY_AUTH_URL"]
            assert login(auth, "a long passphrase 42").status_code == 401  # wiped: nobody there

            # The snapshot route takes bodies as big as the index, but only with the service token.
            big = b"\0" * (20 * 1024 * 1024)
            anonymous = httpx.put(f"{env['PIXELPLAY_SEARCH_URL']}/index/snapshot", content=big, timeout=60)
            assert anonymous.status_code == 401

            restored = script(env, "restore", str(archive))
            assert restored.returncode == 0, restored.stderr
            assert "every part checked" in restored.stdout

            assert login(auth, "a long passphrase 42").status_code == 200
            assert what_users_see(env, token) == before  # the old session works, same history and hits

            # Damaged archives are refused before anything changes: a new user survives both tries.
            account = {"username": "tom", "email": "tom@example.org", "password": "another passphrase 7"}
            assert httpx.post(f"{auth}/register", json=account, timeout=10).status_code == 201
            data = archive.read_bytes()
            truncated = tmp_path / "truncated.tar"
            truncated.write_bytes(data[: len(data) // 2])
            corrupt = tmp_path / "corrupt.tar"
            with tarfile.open(archive) as tar:  # one flipped bit inside the index snapshot's bytes
                at = tar.getmember("qdrant.tar").offset_data + 1000
            corrupt.write_bytes(data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :])
            for bad, message in ((truncated, "truncated"), (corrupt, "does not match its SHA-256")):
                refused = script(env, "restore", str(bad))
                assert refused.returncode == 3
                assert "restore refused, nothing was changed" in refused.stderr and message in refused.stderr
                assert "Traceback" not in refused.stderr
            tom = {"login": "tom", "password": account["password"]}
            assert httpx.post(f"{auth}/login", json=tom, timeout=10).status_code == 200
