"""Per-user search history: store, page newest first, delete one, clear, size limits, isolation."""

from __future__ import annotations

import base64

import pytest

from tests.auth.helpers import bearer, signed_in

ENTRY = {
    "kind": "hybrid",
    "text": "rainy window",
    "weight": 0.3,
    "filters": {"genres": ["jazz"], "year_min": 1990, "year_max": None, "features": None},
    "image_fingerprint": "ab" * 16,
    "thumbnail": "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8" + b"0" * 500).decode(),
    "source_track_id": None,
    "result_track_ids": ["t1", "t2", "t3"],
    "feedback": None,
}


def test_add_and_list_newest_first_with_paging(client, clock):
    _, token = signed_in(client)
    created = []
    for i in range(5):
        response = client.post("/history", json={**ENTRY, "text": f"query {i}"}, headers=bearer(token))
        assert response.status_code == 201
        created.append(response.json())
        if i % 2:  # entries 0-1 and 2-3 share a timestamp: insertion order must still hold
            clock.advance(seconds=1)
    first = created[0]
    assert {k: first[k] for k in ENTRY if k != "text"} == {k: v for k, v in ENTRY.items() if k != "text"}
    page1 = client.get("/history?limit=2&offset=0", headers=bearer(token)).json()
    page2 = client.get("/history?limit=2&offset=2", headers=bearer(token)).json()
    page3 = client.get("/history?limit=2&offset=4", headers=bearer(token)).json()
    assert page1["total"] == 5
    texts = [e["text"] for e in page1["items"] + page2["items"] + page3["items"]]
    assert texts == ["query 4", "query 3", "query 2", "query 1", "query 0"]


def test_delete_one_and_clear(client):
    _, token = signed_in(client)
    ids = [client.post("/history", json=ENTRY, headers=bearer(token)).json()["id"] for _ in range(3)]
    assert client.delete(f"/history/{ids[1]}", headers=bearer(token)).status_code == 204
    assert client.delete(f"/history/{ids[1]}", headers=bearer(token)).status_code == 404
    listed = client.get("/history", headers=bearer(token)).json()
    assert {e["id"] for e in listed["items"]} == {ids[0], ids[2]}
    assert client.delete("/history", headers=bearer(token)).json() == {"deleted": 2}
    assert client.get("/history", headers=bearer(token)).json()["total"] == 0


def test_history_is_private(client):
    _, alice = signed_in(client, "alice")
    _, bob = signed_in(client, "bob")
    entry_id = client.post("/history", json=ENTRY, headers=bearer(alice)).json()["id"]
    assert client.get("/history", headers=bearer(bob)).json() == {
        "items": [],
        "total": 0,
        "offset": 0,
        "limit": 20,
    }
    assert client.delete(f"/history/{entry_id}", headers=bearer(bob)).status_code == 404
    assert client.get("/history", headers=bearer(alice)).json()["total"] == 1
    assert client.get("/history").status_code == 401


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"thumbnail": "data:image/png;base64," + "A" * 70_000}, 413, "thumbnail is"),
        ({"thumbnail": "https://example.com/x.png"}, 422, "data:image"),
        ({"result_track_ids": [f"t{i}" for i in range(201)]}, 422, "at most 200"),
        ({"result_track_ids": ["x" * 65]}, 422, "result ids"),
        ({"filters": {"genres": ["g" * 100] * 200}}, 413, "filters is larger"),
        ({"kind": "poem"}, 422, "kind"),
        ({"weight": 1.5}, 422, "weight"),
        ({"unexpected": 1}, 422, "unexpected"),
    ],
)
def test_invalid_entries_are_rejected(client, change, status, message):
    _, token = signed_in(client)
    response = client.post("/history", json={**ENTRY, **change}, headers=bearer(token))
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert client.get("/history", headers=bearer(token)).json()["total"] == 0


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "offset=-1", "limit=abc"])
def test_bad_paging_is_422(client, query):
    _, token = signed_in(client)
    assert client.get(f"/history?{query}", headers=bearer(token)).status_code == 422


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/history", {"kind": "text", "text": "a\x00b"}),
        ("/history", {"kind": "text", "filters": {"genres": ["\x00"]}}),
        ("/login", {"login": "a\x00b", "password": "whatever-1"}),
        ("/password/forgot", {"login": "a\x00b"}),
    ],
)
def test_nul_characters_are_422_not_500(client, path, body):
    _, token = signed_in(client)
    response = client.post(path, json=body, headers=bearer(token))
    assert response.status_code == 422
    assert "cannot be stored" in response.json()["detail"]


def test_moodboard_entries_keep_their_replay_and_unknown_kinds_are_422(client):
    _, token = signed_in(client)
    replay = {"query_vector": [0.6, 0.8], "model_id": "m", "order": "arc", "photos": 3}
    moodboard = {**ENTRY, "kind": "moodboard", "text": "3 photos · arc", "weight": None, "feedback": replay}
    stored = client.post("/history", json=moodboard, headers=bearer(token))
    assert stored.status_code == 201, stored.text
    listed = client.get("/history", headers=bearer(token)).json()["items"][0]
    assert (listed["kind"], listed["feedback"]) == ("moodboard", moodboard["feedback"])
    answer = client.post("/history", json={**ENTRY, "kind": "collage"}, headers=bearer(token))
    assert answer.status_code == 422 and "kind" in answer.text
