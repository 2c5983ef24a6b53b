"""Encoder + search as real processes (tiny CLIP checkpoint, embedded qdrant-edge): index a catalog
slice with the indexing job, search with a real PNG, then re-index while searches keep coming."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from services.common.contracts.songs import Song
from tests.processes import ROOT, running_service

pytestmark = pytest.mark.slow

INDEX_LIMIT = 300
TOKEN = "integration-token"


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def run_job(module: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", module, "--limit", str(INDEX_LIMIT), "--no-progress"]
    return subprocess.run(
        command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def stack(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    env = {
        "PYTHONPATH": str(ROOT),
        "PIXELPLAY_DATA_DIR": str(tmp_path_factory.mktemp("stack") / "var"),
        "PIXELPLAY_ENCODER_CLIP_CHECKPOINT": str(tiny_model_dir),
        "PIXELPLAY_ENCODER_RUNTIME": "torch",  # skip the ONNX export: start-up time, same vectors
        "PIXELPLAY_SERVICE_TOKEN": TOKEN,
        "PIXELPLAY_LOG_JSON": "false",
        "QDRANT_URL": "",  # embedded qdrant-edge even if the machine has a server configured
    }
    with running_service("services.encoder.app:app", env, ready_path="/readyz", timeout_s=180) as encoder:
        env["PIXELPLAY_ENCODER_URL"] = encoder
        with running_service("services.search.app:app", env, timeout_s=120) as search:
            env["PIXELPLAY_SEARCH_URL"] = search
            done = run_job("scripts.index_catalog", env)
            assert done.returncode == 0, done.stderr[-2000:]
            yield env


def test_photo_search_returns_ranked_songs_with_full_payloads(stack: dict[str, str]):
    search, encoder = stack["PIXELPLAY_SEARCH_URL"], stack["PIXELPLAY_ENCODER_URL"]
    model_id = httpx.get(f"{encoder}/info").json()["model_id"]
    info = httpx.get(f"{search}/info").json()
    assert (info["backend"], info["points"], info["model_id"], info["dim"]) == (
        "edge",
        INDEX_LIMIT,
        model_id,
        512,
    )

    files = {"file": ("sunset.png", png((250, 120, 40)), "image/png")}
    answer = httpx.post(
        f"{search}/search/image", files=files, data={"limit": "10", "diversity": "off"}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    page = answer.json()
    scores = [h["score"] for h in page["hits"]]
    assert len(scores) == 10 and scores == sorted(scores, reverse=True)
    assert page["model_id"] == model_id and len(page["query_vector"]) == 512 and page["next_offset"] == 10
    for hit in page["hits"]:
        song = Song.model_validate(hit["song"])
        assert song.title and song.artist and song.spotify_url and song.description
        assert set(hit["explanation"]) <= set(song.descriptors) and hit["explanation"]

    # same image again → the same ranking; another image → another query vector
    again = httpx.post(
        f"{search}/search/image", files=files, data={"limit": "10", "diversity": "off"}, timeout=60
    )
    assert [h["song"]["track_id"] for h in again.json()["hits"]] == [
        h["song"]["track_id"] for h in page["hits"]
    ]
    other = {"file": ("sea.png", png((20, 60, 200)), "image/png")}
    blue = httpx.post(f"{search}/search/image", files=other, data={"limit": "10"}, timeout=60).json()
    assert blue["query_vector"] != page["query_vector"]

    hybrid = httpx.post(
        f"{search}/search/image", files=files, data={"text": "calm piano", "weight": "1"}, timeout=60
    )
    text = httpx.post(f"{search}/search/text", json={"text": "calm piano"}, timeout=60)
    assert hybrid.json()["query_vector"] == pytest.approx(text.json()["query_vector"], abs=1e-5)

    not_image = {"file": ("notes.png", b"this is text, not a picture", "image/png")}
    refused = httpx.post(f"{search}/search/image", files=not_image, timeout=60)
    assert 400 <= refused.status_code < 500 and refused.json()["detail"].startswith("encoder:")


def test_search_keeps_answering_during_and_after_a_reindex(stack: dict[str, str]):
    search = stack["PIXELPLAY_SEARCH_URL"]
    vector = httpx.post(f"{search}/search/text", json={"text": "road trip"}, timeout=60).json()[
        "query_vector"
    ]
    track = httpx.post(f"{search}/search/vector", json={"vector": vector, "limit": 1}).json()["hits"][0][
        "song"
    ]
    statuses: list[int] = []
    stop = threading.Event()

    def keep_searching() -> None:
        with httpx.Client(base_url=search, timeout=30) as client:
            deadline = time.monotonic() + 300  # bounded even if the re-index hangs
            while not stop.is_set() and time.monotonic() < deadline:
                statuses.append(
                    client.post("/search/vector", json={"vector": vector, "limit": 5}).status_code
                )
                statuses.append(
                    client.post("/search/similar", json={"track_id": track["track_id"]}).status_code
                )
                statuses.append(client.get(f"/songs/{track['track_id']}").status_code)

    worker = threading.Thread(target=keep_searching)
    worker.start()
    try:
        done = run_job("scripts.reindex", stack)
    finally:
        stop.set()
        worker.join(timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "songs_v2" in done.stdout
    assert len(statuses) > 10 and set(statuses) == {200}, sorted(set(statuses))
    info = httpx.get(f"{search}/info").json()
    assert (info["version"], info["points"]) == ("songs_v2", INDEX_LIMIT)
    after = httpx.post(f"{search}/search/vector", json={"vector": vector, "limit": 5})
    assert after.status_code == 200 and len(after.json()["hits"]) == 5


IMPORTED = b"""title,artist,genre,year,energy,valence
Harbour Lights,The Quiet Tides,indie folk,2014,0.31,0.42
Neon Rain,Night Transit,synthwave,2019,0.78,0.55
Sunday Porch,Mabel & the Birds,,1998,,0.83
"""


def imported_songs(search: str) -> dict[str, tuple[str, str, str | None]]:
    """track id -> (title, source, import hash) of every imported song, read with the internal route."""
    out = {}
    after = None
    for _ in range(100):
        params = {"limit": 2} | ({"after": after} if after else {})  # small pages: the cursor is used
        page = httpx.get(f"{search}/catalog/imported", params=params, headers={"X-Service-Token": TOKEN})
        assert page.status_code == 200, page.text
        for item in page.json()["items"]:
            out[item["song"]["track_id"]] = (item["song"]["title"], item["source"], item["import_hash"])
        after = page.json()["next"]
        if after is None:
            return out
    raise AssertionError("the imported songs' pages never ended")


def run_import(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300, check=False
    )


def found_by_source(search: str, source: str) -> set[str]:
    body = {"text": "anything", "limit": 50, "filters": {"sources": [source]}, "diversity": "off"}
    page = httpx.post(f"{search}/search/text", json=body, timeout=60)
    assert page.status_code == 200, page.text
    return {hit["song"]["track_id"] for hit in page.json()["hits"]}


def test_a_reindex_carries_the_imported_catalogs_into_the_new_version(stack: dict[str, str], tmp_path: Path):
    search = stack["PIXELPLAY_SEARCH_URL"]
    bundled = httpx.get(f"{search}/info").json()["points"]
    csv = tmp_path / "mine.csv"
    csv.write_bytes(IMPORTED)
    command = [sys.executable, "-m", "scripts.import_catalog", str(csv), "--source", "mine"]
    imported = run_import(command, stack)
    assert imported.returncode == 0, imported.stderr[-2000:]
    before = imported_songs(search)
    assert len(before) == 3 and {s for _, s, h in before.values() if h} == {"mine"}
    assert found_by_source(search, "mine") == set(before)
    old = httpx.get(f"{search}/info").json()["version"]

    done = run_job("scripts.reindex", stack)
    assert done.returncode == 0, done.stderr[-2000:]
    info = httpx.get(f"{search}/info").json()
    assert info["version"] != old and info["points"] == bundled + 3
    assert "imported catalogs' songs carried over: 3" in done.stdout
    assert imported_songs(search) == before
    assert found_by_source(search, "mine") == set(before)
    assert not found_by_source(search, "bundled") & set(before)
    assert httpx.get(f"{search}/filters").json()["sources"] == ["bundled", "mine"]
    names = httpx.get(f"{search}/songs/names", params={"q": "neon rain"}).json()["matches"]
    assert [(m["title"], m["artist"]) for m in names] == [("Neon Rain", "Night Transit")]
    # Re-importing the same file into the new version finds every song unchanged: the hashes came along.
    again = run_import(command, stack)
    assert again.returncode == 0 and "unchanged (already imported as is): 3" in again.stdout, again.stdout
