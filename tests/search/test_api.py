"""Every search-service endpoint on both backends, with real catalog songs and a stand-in encoder."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from services.common.contracts.songs import Song
from services.common.settings import load_settings
from services.search.settings import SearchSettings, get_settings
from tests.search.conftest import StandInEncoder, index_songs, search_app

pytestmark = pytest.mark.filterwarnings("ignore:.*(Local mode|local Qdrant).*:UserWarning")

PNG = b"\x89PNG\r\n\x1a\n fake bytes: the stand-in encoder only hashes them"


def ids(page: dict) -> list[str]:
    return [h["song"]["track_id"] for h in page["hits"]]


def image_search(client: TestClient, **form) -> dict:
    answer = client.post("/search/image", files={"file": ("photo.png", PNG, "image/png")}, data=form)
    assert answer.status_code == 200, answer.text
    return answer.json()


# --- ops ---------------------------------------------------------------------------------------------
def test_info_readyz_and_filters(ro_client: TestClient, catalog_slice: list[Song]):
    info = ro_client.get("/info").json()
    assert info == {
        "collection": "songs",
        "backend": ro_client.app.state.store.backend,
        "points": len(catalog_slice),
        "model_id": "test:model-a",
        "dim": 32,
        "version": "songs_v1",
    }
    assert ro_client.get("/readyz").status_code == 200
    options = ro_client.get("/filters").json()
    assert options["genres"] == sorted({g for s in catalog_slice for g in s.genres})
    years = [s.year for s in catalog_slice if s.year]
    assert (options["year_min"], options["year_max"]) == (min(years), max(years))


def test_empty_index_is_not_ready_and_searches_say_how_to_fix_it(empty_client: TestClient):
    assert empty_client.get("/readyz").status_code == 503
    assert empty_client.get("/info").json()["points"] == 0
    answer = empty_client.post("/search/text", json={"text": "calm"})
    assert answer.status_code == 503 and "index_catalog" in answer.json()["detail"]
    metrics = empty_client.get("/metrics")  # no collection yet: no song counts, and no error
    assert metrics.status_code == 200 and "pixelplay_songs{" not in metrics.text


# --- queries -----------------------------------------------------------------------------------------
def test_text_search_ranks_by_cosine_with_full_songs(ro_client: TestClient, catalog_slice: list[Song]):
    encoder = ro_client.app.state.encoder
    page = ro_client.post(
        "/search/text", json={"text": "rainy night", "limit": 10, "diversity": "off"}
    ).json()
    query = np.asarray(encoder.encode_texts(["rainy night"])[0])
    by_id = {s.track_id: s for s in catalog_slice}
    songs_vecs = {s.track_id: np.asarray(encoder.encode_texts([s.description])[0]) for s in catalog_slice}
    scores = sorted(((float(v @ query), t) for t, v in songs_vecs.items()), reverse=True)
    assert ids(page) == [t for _, t in scores[:10]]
    assert [h["score"] for h in page["hits"]] == pytest.approx([s for s, _ in scores[:10]], abs=1e-4)
    first = page["hits"][0]["song"]
    assert Song.model_validate(first) == by_id[first["track_id"]]  # the whole payload comes back
    assert page["model_id"] == "test:model-a" and page["query_vector"] == pytest.approx(query.tolist())
    for hit in page["hits"]:  # reasons are the song's own phrases, nearest the query first
        assert hit["explanation"] and set(hit["explanation"]) <= set(hit["song"]["descriptors"])


def test_hybrid_weight_zero_is_the_image_query_and_one_is_the_text_query(ro_client: TestClient):
    image_only = image_search(ro_client, diversity="off")
    text_only = ro_client.post("/search/text", json={"text": "sunset beach", "diversity": "off"}).json()
    w0 = image_search(ro_client, text="sunset beach", weight="0", diversity="off")
    w1 = image_search(ro_client, text="sunset beach", weight="1", diversity="off")
    assert ids(w0) == ids(image_only) and w0["query_vector"] == pytest.approx(image_only["query_vector"])
    assert ids(w1) == ids(text_only) and w1["query_vector"] == pytest.approx(text_only["query_vector"])
    half = image_search(ro_client, text="sunset beach", weight="0.5", diversity="off")
    assert ids(half) != ids(image_only) and ids(half) != ids(text_only)


def test_pages_follow_each_other_without_duplicates_until_the_end(ro_client: TestClient, catalog_slice):
    seen: list[str] = []
    offset, vector = 0, None
    for _ in range(50):
        body = {"limit": 40, "offset": offset, "diversity": "off"}
        if vector is None:
            page = ro_client.post("/search/text", json={**body, "text": "road trip"}).json()
            vector = page["query_vector"]
        else:
            page = ro_client.post("/search/vector", json={**body, "vector": vector}).json()
        seen += ids(page)
        if page["next_offset"] is None:
            break
        assert page["next_offset"] == offset + 40
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) == len(catalog_slice)


def test_artist_diversity_caps_each_artist_across_pages(ro_client: TestClient):
    vector = ro_client.post("/search/text", json={"text": "x", "limit": 1}).json()["query_vector"]
    artists: list[str] = []
    for offset in (0, 20, 40):
        page = ro_client.post("/search/vector", json={"vector": vector, "limit": 20, "offset": offset}).json()
        artists += [h["song"]["artist"].casefold() for h in page["hits"]]
    assert max(artists.count(a) for a in set(artists)) <= 2


def test_filters_are_applied_to_every_hit(ro_client: TestClient):
    filters = {
        "genres": ["rock", "latin"],
        "year_min": 1990,
        "year_max": 2015,
        "features": {"energy": {"min": 0.5, "max": None}, "valence": {"max": 0.9}},
    }
    page = ro_client.post("/search/text", json={"text": "x", "filters": filters, "limit": 50}).json()
    assert page["hits"]
    for hit in page["hits"]:
        song = hit["song"]
        assert set(song["genres"]) & {"rock", "latin"}
        assert 1990 <= song["year"] <= 2015 and song["energy"] >= 0.5 and song["valence"] <= 0.9
    as_form = image_search(ro_client, filters=json.dumps(filters), limit="50")
    assert all(1990 <= h["song"]["year"] <= 2015 for h in as_form["hits"])


def test_similar_never_returns_the_song_or_the_negatives(ro_client: TestClient, catalog_slice: list[Song]):
    source, *negatives = [s.track_id for s in catalog_slice[:3]]
    plain = ro_client.post(
        "/search/similar", json={"track_id": source, "limit": 100, "diversity": "off"}
    ).json()
    assert source not in ids(plain) and len(ids(plain)) == 100
    pushed = ro_client.post(
        "/search/similar",
        json={"track_id": source, "negative_track_ids": negatives, "limit": 100, "diversity": "off"},
    ).json()
    assert not {source, *negatives} & set(ids(pushed))
    assert ids(pushed) != ids(plain)


def test_song_read_and_404(ro_client: TestClient, catalog_slice: list[Song]):
    song = catalog_slice[7]
    assert Song.model_validate(ro_client.get(f"/songs/{song.track_id}").json()) == song
    answer = ro_client.get("/songs/no-such-track")
    assert answer.status_code == 404 and "no-such-track" in answer.json()["detail"]


# --- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"text": "x", "filters": {"features": {"loudnesss": {"min": 1}}}}, "unknown feature"),
        ({"text": "x", "filters": {"year_min": 2010, "year_max": 2000}}, "greater than"),
        ({"text": "x", "filters": {"features": {"energy": {"min": 0.9, "max": 0.1}}}}, "greater than"),
        ({"text": "x", "filters": {"colour": "red"}}, "Extra inputs"),
        ({"text": "x", "limit": 101}, "maximum page size"),
        ({"text": "x", "limit": 0}, "greater than or equal"),
        ({"text": "x", "diversity": "random"}, "diversity"),
        ({"text": ""}, "at least 1"),
    ],
)
def test_bad_text_queries_are_422_with_a_message(ro_client: TestClient, body: dict, needle: str):
    answer = ro_client.post("/search/text", json=body)
    assert answer.status_code == 422 and needle in json.dumps(answer.json())


@pytest.mark.parametrize(
    ("form", "needle"),
    [
        ({"filters": "{not json"}, "not valid JSON"),
        ({"filters": '{"features": {"tempo": {"min": 200, "max": 100}}}'}, "greater than"),
        ({"filters": '{"features": {"mood": {}}}'}, "unknown feature"),
        ({"weight": "1.5"}, "weight"),
        ({"limit": "500"}, "maximum page size"),
    ],
)
def test_bad_image_queries_are_422_with_a_message(ro_client: TestClient, form: dict, needle: str):
    answer = ro_client.post("/search/image", files={"file": ("p.png", PNG, "image/png")}, data=form)
    assert answer.status_code == 422 and needle in json.dumps(answer.json())


def test_empty_upload_and_missing_file(ro_client: TestClient):
    assert ro_client.post("/search/image", files={"file": ("p.png", b"", "image/png")}).status_code == 422
    assert ro_client.post("/search/image", data={"text": "x"}).status_code == 422


def test_vector_of_wrong_size_zero_or_other_model(ro_client: TestClient):
    answer = ro_client.post("/search/vector", json={"vector": [0.1] * 7})
    assert answer.status_code == 422 and "expects 32" in answer.json()["detail"]
    assert ro_client.post("/search/vector", json={"vector": [0.0] * 32}).status_code == 422
    answer = ro_client.post("/search/vector", json={"vector": [0.1] * 32, "model_id": "other"})
    assert answer.status_code == 409 and "re-index" in answer.json()["detail"]


def test_unknown_similar_track_is_404(ro_client: TestClient, catalog_slice: list[Song]):
    answer = ro_client.post("/search/similar", json={"track_id": "nope"})
    assert answer.status_code == 404 and "nope" in answer.json()["detail"]
    answer = ro_client.post(
        "/search/similar", json={"track_id": catalog_slice[0].track_id, "negative_track_ids": ["gone"]}
    )
    assert answer.status_code == 404 and "gone" in answer.json()["detail"]


def test_encoder_with_another_model_is_refused_with_409(client: TestClient, encoder: StandInEncoder):
    encoder.id = "test:model-b"
    for answer in (
        client.post("/search/text", json={"text": "calm"}),
        client.post("/search/image", files={"file": ("p.png", PNG, "image/png")}),
    ):
        assert answer.status_code == 409
        assert "test:model-a" in answer.json()["detail"] and "reindex" in answer.json()["detail"]


def test_encoder_errors_become_clear_answers(client: TestClient, encoder: StandInEncoder):
    from services.common.http import ServiceError, ServiceUnavailable

    def refuse(*args, **kwargs):
        raise ServiceError("encoder", 415, "not an image: expected JPEG, PNG or WebP")

    encoder.encode_image = refuse
    answer = client.post("/search/image", files={"file": ("p.txt", b"hello", "text/plain")})
    assert answer.status_code == 415 and "not an image" in answer.json()["detail"]

    def down(*args, **kwargs):
        raise ServiceUnavailable("encoder", 503, "encoder unreachable")

    encoder.encode_texts = down
    answer = client.post("/search/text", json={"text": "calm"})
    assert answer.status_code == 503 and "encoder" in answer.json()["detail"]


# --- internal: enrichment ----------------------------------------------------------------------------
def test_internal_routes_need_the_service_token(ro_client: TestClient, catalog_slice: list[Song]):
    track = catalog_slice[0].track_id
    calls = [
        ("GET", "/stats/enrichment", None),
        ("GET", "/songs/enrichment/pending", None),
        ("PATCH", f"/songs/{track}/enrichment", {"enrich_status": "ok"}),
        ("PATCH", f"/songs/{track}/spotify-art", {"spotify_art_status": "ok"}),
        ("GET", "/index/status", None),
        ("POST", "/index/ensure", {"model_id": "m", "dim": 32}),
    ]
    for method, path, body in calls:
        assert ro_client.request(method, path, json=body, headers={"X-Service-Token": ""}).status_code == 403
        assert (
            ro_client.request(method, path, json=body, headers={"X-Service-Token": "wrong"}).status_code
            == 403
        )
        bare = TestClient(ro_client.app)
        assert bare.request(method, path, json=body).status_code == 401


def test_enrichment_update_ordering(client: TestClient, catalog_slice: list[Song]):
    track = catalog_slice[0].track_id
    newer = {
        "enrich_status": "ok",
        "enriched_at": 2000.0,
        "itunes_genre": "Rock",
        "art_url": "https://a/b.jpg",
    }
    answer = client.patch(f"/songs/{track}/enrichment", json=newer).json()
    assert answer["applied"] is True and answer["itunes_genre"] == "Rock" and answer["track_id"] == track
    older = {"enrich_status": "failed", "enrich_reason": "timeout", "enriched_at": 1000.0}
    answer = client.patch(f"/songs/{track}/enrichment", json=older).json()
    assert answer["applied"] is False and "older" in answer["reason"]
    stored = client.get(f"/songs/{track}").json()
    assert stored["enrich_status"] == "ok" and stored["art_url"] == "https://a/b.jpg"
    newest = {"enrich_status": "not_found", "enriched_at": 3000.0}
    assert client.patch(f"/songs/{track}/enrichment", json=newest).json()["applied"] is True
    stored = client.get(f"/songs/{track}").json()
    assert stored["enrich_status"] == "not_found" and stored["art_url"] is None  # a result replaces all
    assert client.patch("/songs/nope/enrichment", json=newest).status_code == 404
    assert client.patch(f"/songs/{track}/enrichment", json={"enrich_status": "great"}).status_code == 422


def test_spotify_art_writes_only_its_own_fields_and_several_songs_read_at_once(
    client: TestClient, catalog_slice: list[Song]
):
    first, second = catalog_slice[0].track_id, catalog_slice[1].track_id
    itunes = {
        "enrich_status": "ok",
        "art_url": "https://is1-ssl.mzstatic.com/a/600x600bb.jpg",
        "enriched_at": 10.0,
    }
    client.patch(f"/songs/{first}/enrichment", json=itunes)
    art = {"spotify_art_status": "ok", "spotify_art_url": "https://i.scdn.co/image/x", "spotify_art_at": 20.0}
    assert client.patch(f"/songs/{first}/spotify-art", json=art).json()["applied"] is True
    stored = client.get(f"/songs/{first}").json()
    assert stored["art_url"] == itunes["art_url"] and stored["spotify_art_url"] == art["spotify_art_url"]
    assert (
        client.patch(f"/songs/{first}/spotify-art", json={"art_url": "x"}).status_code == 422
    )  # not its field
    many = client.get("/songs", params={"ids": f"{second},nope,{first}"}).json()
    assert [s["track_id"] for s in many] == [second, first]
    assert client.get("/songs", params={"ids": " , "}).status_code == 422
    assert client.get("/songs", params={"ids": ",".join(f"t{i}" for i in range(101))}).status_code == 422


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("enrichment", {"enrich_status": "ok", "enriched_at": "inf"}),
        ("enrichment", {"enrich_status": "ok", "match_score": "nan"}),
        ("spotify-art", {"spotify_art_status": "ok", "spotify_art_at": "inf"}),
        ("spotify-art", {"spotify_art_status": "ok", "spotify_art_at": "nan"}),
    ],
)
def test_results_with_a_time_or_score_that_is_not_a_number_are_422(
    client: TestClient, catalog_slice: list[Song], route: str, body: dict
):
    track = catalog_slice[0].track_id
    answer = client.patch(f"/songs/{track}/{route}", json=body)
    assert answer.status_code == 422, answer.text
    assert "finite number" in answer.text


def test_a_search_still_answers_when_redis_is_unreachable(search_env: SearchSettings, encoder, catalog_slice):
    from services.common.embedded import free_port

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
        load_settings.cache_clear()
        with search_app(get_settings(), encoder) as client:
            index_songs(client, encoder, catalog_slice[:20])
            started = time.monotonic()
            answer = client.post("/search/text", json={"text": "calm", "limit": 12})
            assert answer.status_code == 200 and len(answer.json()["hits"]) == 12
            assert time.monotonic() - started < 10  # queueing gave up quickly, after the answer
        load_settings.cache_clear()


def test_pending_list_pages_and_stats(client: TestClient, catalog_slice: list[Song]):
    done = [s.track_id for s in catalog_slice[:5]]
    for i, track in enumerate(done):
        status = "ok" if i < 3 else "failed"
        client.patch(f"/songs/{track}/enrichment", json={"enrich_status": status, "enriched_at": 1000.0 + i})
    stats = client.get("/stats/enrichment").json()
    assert stats == {"pending": len(catalog_slice) - 5, "ok": 3, "not_found": 0, "failed": 2}
    # The same counts on /metrics, for operators watching enrichment progress.
    metrics = client.get("/metrics").text
    assert f'pixelplay_songs{{enrich_status="pending"}} {len(catalog_slice) - 5}.0' in metrics
    assert 'pixelplay_songs{enrich_status="ok"} 3.0' in metrics
    assert 'pixelplay_songs{enrich_status="failed"} 2.0' in metrics
    # Progress and the ETA of the rest at the default iTunes pace (2 lookups per 6 s).
    assert f"pixelplay_enrichment_progress_ratio {5 / len(catalog_slice)}" in metrics
    assert f"pixelplay_enrichment_eta_seconds {(len(catalog_slice) - 5) * 3.0}" in metrics

    seen: list[str] = []
    after = None
    for _ in range(20):
        params = {"limit": 70, **({"after": after} if after else {})}
        page = client.get("/songs/enrichment/pending", params=params).json()
        seen += page["track_ids"]
        after = page["next"]
        if after is None:
            break
    assert sorted(seen) == sorted(s.track_id for s in catalog_slice[5:])
    # enriched_at 1000 s after the epoch is decades old: all of them are due again
    stale = client.get("/songs/enrichment/pending", params={"limit": 1000, "older_than_days": 30}).json()
    assert set(done) <= set(stale["track_ids"]) and len(stale["track_ids"]) == len(catalog_slice)
    every = client.get("/songs/enrichment/pending", params={"limit": 1000, "all": "true"}).json()
    assert len(every["track_ids"]) == len(catalog_slice)


# --- internal: index API -----------------------------------------------------------------------------
def test_index_refuses_another_model_and_wrong_sizes(ro_client: TestClient, catalog_slice: list[Song]):
    answer = ro_client.post("/index/ensure", json={"model_id": "test:model-b", "dim": 32})
    assert answer.status_code == 409 and "reindex" in answer.json()["detail"]
    song = catalog_slice[0].model_dump(mode="json")
    answer = ro_client.post(
        "/index/points", json={"model_id": "test:model-b", "items": [{"song": song, "vector": [1.0] * 32}]}
    )
    assert answer.status_code == 409
    answer = ro_client.post(
        "/index/points", json={"model_id": "test:model-a", "items": [{"song": song, "vector": [1.0] * 3}]}
    )
    assert answer.status_code == 422 and "dimensions" in answer.json()["detail"]
    answer = ro_client.post(
        "/index/points", json={"model_id": "test:model-a", "items": [{"song": song, "vector": [0.0] * 32}]}
    )
    assert answer.status_code == 422
    assert ro_client.post("/index/versions/songs_v9/activate").status_code == 404
    assert ro_client.delete("/index/versions/songs_v1").status_code == 409  # the active one


def test_new_version_keeps_enrichment_and_switches_atomically(client: TestClient, catalog_slice: list[Song]):
    track = catalog_slice[0].track_id
    client.patch(
        f"/songs/{track}/enrichment", json={"enrich_status": "ok", "enriched_at": 5.0, "itunes_id": 42}
    )
    other = StandInEncoder("test:model-b")
    version = client.post("/index/versions", json={"model_id": other.id, "dim": other.dim}).json()["version"]
    assert version == "songs_v2"
    index_songs(client, other, catalog_slice, version=version)
    assert client.get("/info").json()["model_id"] == "test:model-a"  # not switched yet
    activation = client.post(f"/index/versions/{version}/activate").json()
    assert activation == {"active": "songs_v2", "previous": "songs_v1", "dropped": ["songs_v1"]}
    info = client.get("/info").json()
    assert (info["model_id"], info["points"], info["version"]) == (
        "test:model-b",
        len(catalog_slice),
        "songs_v2",
    )
    song = client.get(f"/songs/{track}").json()
    assert song["enrich_status"] == "ok" and song["itunes_id"] == 42
    status = client.get("/index/status").json()
    assert [v["version"] for v in status["versions"]] == ["songs_v2"]


def test_image_larger_than_the_limit_is_413(ro_client: TestClient):
    settings = ro_client.app.state.settings
    cap = settings.max_image_bytes
    settings.max_image_bytes = 64
    try:
        answer = ro_client.post("/search/image", files={"file": ("big.png", b"x" * 65, "image/png")})
    finally:
        settings.max_image_bytes = cap
    assert answer.status_code == 413 and "64 bytes" in answer.json()["detail"]


def test_storage_failures_are_503_without_a_trace(ro_client: TestClient, monkeypatch: pytest.MonkeyPatch):
    def broken(*args, **kwargs):
        raise RuntimeError("segment file vanished: /secret/path")

    monkeypatch.setattr(ro_client.app.state.store, "query", broken)
    answer = TestClient(ro_client.app, raise_server_exceptions=False).post(
        "/search/vector", json={"vector": [0.1] * 32}
    )
    assert answer.status_code == 503
    assert "search index failed" in answer.json()["detail"] and "/secret" not in answer.text


def test_filters_cache_follows_the_index(
    client: TestClient, encoder: StandInEncoder, catalog_slice: list[Song]
):
    before = client.get("/filters").json()
    extra = catalog_slice[0].model_copy(update={"track_id": "new-one", "genres": ["polka"], "year": 1950})
    index_songs(client, encoder, [extra], version="songs_v1")
    after = client.get("/filters").json()
    assert "polka" not in before["genres"] and "polka" in after["genres"] and after["year_min"] == 1950
