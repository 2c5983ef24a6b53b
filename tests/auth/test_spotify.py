"""Spotify sign-in and "Save to Spotify" in the auth service, against real Postgres and a fake
Spotify served over HTTP on 127.0.0.1 (tests/fake_spotify.py).

The test plays the UI: it asks auth for the authorize URL, lets the fake (playing the user) answer
it, and hands the ``state`` and ``code`` from the redirect back to auth.
"""

from __future__ import annotations

import string
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from pydantic import SecretStr

from services.auth.spotify_store import SpotifyConfigError
from tests.auth.conftest import AppFactory
from tests.auth.helpers import FakeClock, bearer, login, signed_in
from tests.fake_spotify import CLIENT_ID, FakeSpotify, running_fake_spotify

REDIRECT = "http://127.0.0.1:7860/spotify/callback"
KEY = Fernet.generate_key().decode()


def track_ids(n: int, prefix: str = "t") -> list[str]:
    """``n`` distinct well-formed Spotify ids (22 base-62 characters)."""
    alphabet = string.ascii_letters + string.digits
    out = []
    for i in range(n):
        digits = []
        x = i
        for _ in range(6):
            digits.append(alphabet[x % 62])
            x //= 62
        out.append((prefix + "".join(digits)).ljust(22, "A"))
    return out


@pytest.fixture(scope="module")
def spotify_server() -> Iterator[FakeSpotify]:
    with running_fake_spotify({REDIRECT}) as fake:
        yield fake


@pytest.fixture
def fake(spotify_server: FakeSpotify) -> FakeSpotify:
    spotify_server.reset()
    return spotify_server


@pytest.fixture
def spotify_client(make_client: AppFactory, fake: FakeSpotify) -> TestClient:
    return make_client(**spotify_settings(fake))


def spotify_settings(fake: FakeSpotify, **overrides: object) -> dict[str, object]:
    return {
        "spotify_client_id": CLIENT_ID,
        "spotify_redirect_url": REDIRECT,
        "spotify_token_key": SecretStr(KEY),
        "spotify_accounts_url": fake.url,
        "spotify_api_url": f"{fake.url}/v1",
        "spotify_retry_after_max_s": 2.0,
    } | overrides


def start(client: TestClient, token: str) -> str:
    response = client.post("/spotify/connect", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()["authorize_url"]


def consent(authorize_url: str) -> dict[str, str]:
    """The browser at Spotify: the fake answers and redirects; returns the redirect's query."""
    response = httpx.get(authorize_url, follow_redirects=False)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def connect(client: TestClient, token: str) -> dict:
    back = consent(start(client, token))
    response = client.post("/spotify/callback", json=back, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def save(
    client: TestClient, token: str, ids: list[str], on_existing: str = "ask", name: str = "PixelPlay · test"
):
    body = {"name": name, "description": "Made by PixelPlay", "track_ids": ids, "on_existing": on_existing}
    return client.post("/spotify/playlists", json=body, headers=bearer(token))


# --- sign-in -----------------------------------------------------------------------------------------
def test_oauth_round_trip_stores_encrypted_tokens(
    spotify_client: TestClient, fake: FakeSpotify, auth_db_url: str
):
    user, token = signed_in(spotify_client)
    status = spotify_client.get("/spotify", headers=bearer(token)).json()
    assert status == {"enabled": True, "connected": False, "display_name": None, "spotify_user_id": None,
                      "connected_at": None}  # fmt: skip

    url = start(spotify_client, token)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(fake.url + "/authorize?")
    assert query["scope"] == ["playlist-modify-private"]
    assert query["redirect_uri"] == [REDIRECT]
    assert query["code_challenge_method"] == ["S256"] and query["response_type"] == ["code"]
    assert "client_secret" not in query

    answer = connect_with(spotify_client, token, url)
    assert answer["connected"] is True and answer["display_name"] == "Fake Listener"
    assert spotify_client.get("/spotify", headers=bearer(token)).json()["connected"] is True

    with psycopg.connect(auth_db_url) as conn:
        stored = conn.execute(
            "SELECT tokens_enc FROM spotify_links WHERE user_id = %s", (user["id"],)
        ).fetchone()[0]
    access_tokens = list(fake._access)
    assert access_tokens and not any(t.encode() in bytes(stored) for t in access_tokens)
    assert access_tokens[0].encode() in Fernet(KEY.encode()).decrypt(bytes(stored))


def connect_with(client: TestClient, token: str, url: str) -> dict:
    response = client.post("/spotify/callback", json=consent(url), headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def test_forged_or_replayed_state_is_refused(spotify_client: TestClient, fake: FakeSpotify):
    _, alice = signed_in(spotify_client, "alice")
    _, mallory = signed_in(spotify_client, "mallory")
    back = consent(start(spotify_client, alice))

    # Another account's session, another session of the same account and a made-up state: refused.
    stolen = spotify_client.post("/spotify/callback", json=back, headers=bearer(mallory))
    assert stolen.status_code == 400 and "not started from your current" in stolen.json()["detail"]
    alice_laptop = login(spotify_client, "alice")
    assert (
        spotify_client.post("/spotify/callback", json=back, headers=bearer(alice_laptop)).status_code == 400
    )
    made_up = {"state": "x" * 43, "code": back["code"]}
    assert spotify_client.post("/spotify/callback", json=made_up, headers=bearer(alice)).status_code == 400
    assert spotify_client.post("/spotify/callback", json=back).status_code == 401
    for who in (mallory, alice_laptop):
        assert spotify_client.get("/spotify", headers=bearer(who)).json()["connected"] is False

    # The real owner's callback still works, once.
    assert spotify_client.post("/spotify/callback", json=back, headers=bearer(alice)).status_code == 200
    replay = spotify_client.post("/spotify/callback", json=back, headers=bearer(alice))
    assert replay.status_code == 400


def test_expired_sign_in_is_refused(spotify_client: TestClient, fake: FakeSpotify, clock: FakeClock):
    _, token = signed_in(spotify_client)
    back = consent(start(spotify_client, token))
    clock.advance(minutes=11)
    response = spotify_client.post("/spotify/callback", json=back, headers=bearer(token))
    assert response.status_code == 400
    assert spotify_client.get("/spotify", headers=bearer(token)).json()["connected"] is False


def test_denied_consent_connects_nothing(spotify_client: TestClient, fake: FakeSpotify):
    _, token = signed_in(spotify_client)
    fake.decision = "deny"
    back = consent(start(spotify_client, token))
    assert back["error"] == "access_denied" and "code" not in back
    response = spotify_client.post("/spotify/callback", json=back, headers=bearer(token))
    assert response.status_code == 403
    assert "chose not to give PixelPlay access" in response.json()["detail"]
    assert spotify_client.get("/spotify", headers=bearer(token)).json()["connected"] is False
    assert not fake.calls_to("POST", "/api/token")


def test_redirect_url_must_match_the_registered_one_exactly(make_client: AppFactory, fake: FakeSpotify):
    client = make_client(**spotify_settings(fake, spotify_redirect_url=REDIRECT + "/"))
    _, token = signed_in(client)
    response = httpx.get(start(client, token), follow_redirects=False)
    assert response.status_code == 400 and "Invalid redirect URI" in response.text


def test_disabled_without_client_id(client: TestClient):
    _, token = signed_in(client)
    assert client.get("/spotify", headers=bearer(token)).json()["enabled"] is False
    response = client.post("/spotify/connect", headers=bearer(token))
    assert response.status_code == 404 and "PIXELPLAY_AUTH_SPOTIFY_CLIENT_ID" in response.json()["detail"]
    assert save(client, token, track_ids(1)).status_code == 404


def test_half_configured_refuses_to_start(make_client: AppFactory, fake: FakeSpotify):
    with pytest.raises(SpotifyConfigError, match="PIXELPLAY_AUTH_SPOTIFY_TOKEN_KEY"):
        make_client(**spotify_settings(fake, spotify_token_key=None))
    with pytest.raises(SpotifyConfigError, match="not a Fernet key"):
        make_client(**spotify_settings(fake, spotify_token_key=SecretStr("not-a-key")))
    with pytest.raises(SpotifyConfigError, match="PIXELPLAY_AUTH_SPOTIFY_REDIRECT_URL"):
        make_client(**spotify_settings(fake, spotify_redirect_url=None))


# --- saving ------------------------------------------------------------------------------------------
def test_playlist_larger_than_one_request(spotify_client: TestClient, fake: FakeSpotify):
    _, token = signed_in(spotify_client)
    connect(spotify_client, token)
    ids = track_ids(250)
    response = save(spotify_client, token, ids, name="PixelPlay · sunset photo · 2026-11-30")
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["status"], result["added"], result["total"], result["rejected"]) == ("saved", 250, 250, [])
    playlist = fake.playlists[result["playlist"]["id"]]
    assert playlist.name == "PixelPlay · sunset photo · 2026-11-30" and playlist.public is False
    assert playlist.description == "Made by PixelPlay"
    assert playlist.items == [f"spotify:track:{t}" for t in ids]
    assert len(fake.calls_to("POST", f"/v1/playlists/{playlist.id}/items")) == 3
    assert result["playlist"]["url"] == f"https://open.spotify.com/playlist/{playlist.id}"


def test_rejected_tracks_are_named_and_the_rest_saved(spotify_client: TestClient, fake: FakeSpotify):
    _, token = signed_in(spotify_client)
    connect(spotify_client, token)
    ids = track_ids(120)
    fake.refused_tracks |= {ids[7], ids[110]}
    result = save(spotify_client, token, [*ids, "not-a-spotify-id"]).json()
    assert result["status"] == "saved"
    assert (result["added"], result["total"]) == (118, 121)
    assert result["rejected"] == ["not-a-spotify-id", ids[7], ids[110]]
    kept = [t for t in ids if t not in {ids[7], ids[110]}]
    assert fake.playlists[result["playlist"]["id"]].items == [f"spotify:track:{t}" for t in kept]


def test_saving_the_same_list_twice_asks_update_or_new(spotify_client: TestClient, fake: FakeSpotify):
    _, token = signed_in(spotify_client)
    connect(spotify_client, token)
    ids = track_ids(30)
    first = save(spotify_client, token, ids).json()
    again = save(spotify_client, token, list(reversed(ids))).json()
    assert again["status"] == "exists" and again["playlist"]["id"] == first["playlist"]["id"]
    assert len(fake.playlists) == 1

    fake.playlists[first["playlist"]["id"]].items.pop()  # the user edited it in Spotify meanwhile
    updated = save(spotify_client, token, ids, "update", name="Renamed").json()
    assert updated["status"] == "saved" and updated["playlist"]["id"] == first["playlist"]["id"]
    playlist = fake.playlists[first["playlist"]["id"]]
    assert playlist.name == "Renamed" and len(playlist.items) == 30

    new = save(spotify_client, token, ids, "new").json()
    assert new["playlist"]["id"] != first["playlist"]["id"] and len(fake.playlists) == 2
    assert save(spotify_client, token, ids).json()["playlist"]["id"] == new["playlist"]["id"]

    del fake.playlists[new["playlist"]["id"]]  # deleted in Spotify: "update" makes a new one
    replaced = save(spotify_client, token, ids, "update").json()
    assert replaced["replaced_missing"] is True and replaced["added"] == 30
    assert replaced["playlist"]["id"] in fake.playlists


def test_refresh_when_the_access_token_expires(
    spotify_client: TestClient, fake: FakeSpotify, clock: FakeClock
):
    _, token = signed_in(spotify_client)
    connect(spotify_client, token)
    clock.advance(hours=2)  # our clock: the stored token is past its expires_in
    assert save(spotify_client, token, track_ids(3)).json()["status"] == "saved"
    assert len(fake.calls_to("POST", "/api/token")) == 2  # the code exchange, then one refresh

    fake.expire_access_tokens()  # Spotify's clock: refused although we think it is fresh
    assert save(spotify_client, token, track_ids(3, "u")).json()["status"] == "saved"
    assert len(fake.calls_to("POST", "/api/token")) == 3
    assert spotify_client.get("/spotify", headers=bearer(token)).json()["connected"] is True


def test_concurrent_saves_refresh_once(spotify_client: TestClient, fake: FakeSpotify, clock: FakeClock):
    """Spotify rotates refresh tokens: two saves refreshing at once must not spend the same one
    (the second would look revoked). The row lock makes the second wait and reuse the new token."""
    _, token = signed_in(spotify_client)
    connect(spotify_client, token)
    clock.advance(hours=2)
    lists = [track_ids(40, "a"), track_ids(40, "b"), track_ids(40, "c")]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda ids: save(spotify_client, token, ids).json(), lists))
    assert [r["status"] for r in results] == ["saved"] * 3
    assert len(fake.calls_to("POST", "/api/token")) == 2  # the code exchange and a single refresh
    assert spotify_client.get("/spotify", headers=bearer(token)).json()["connected"] is True


def test_revoked_access_disconnects_with_a_clear_message(spotify_client: TestClient, fake: FakeSpotify):
    _, token = signed_in(spotify_client)
    connect(spotify_client, token)
    fake.revoke()
    response = save(spotify_client, token, track_ids(5))
    assert response.status_code == 403
    assert "connect Spotify again" in response.json()["detail"]
    assert not fake.playlists
    assert spotify_client.get("/spotify", headers=bearer(token)).json()["connected"] is False


def test_rate_limit_is_waited_out_when_short(spotify_client: TestClient, fake: FakeSpotify):
    _, token = signed_in(spotify_client)
    connect(spotify_client, token)
    fake.fail("POST", "/v1/playlists/", 429, retry_after="1")
    result = save(spotify_client, token, track_ids(150)).json()
    assert (result["status"], result["added"]) == ("saved", 150)
    first, second = fake.calls_to("POST", "/v1/playlists/")[:2]
    assert second[2] - first[2] >= 0.95


def test_long_rate_limit_before_creating_saves_nothing(spotify_client: TestClient, fake: FakeSpotify):
    _, token = signed_in(spotify_client)
    connect(spotify_client, token)
    fake.fail("POST", "/v1/me/playlists", 429, retry_after="120")
    started = time.monotonic()
    response = save(spotify_client, token, track_ids(10))
    assert time.monotonic() - started < 5  # reported, not waited for
    assert response.status_code == 429 and response.headers["retry-after"] == "120"
    assert "try again in 120 s" in response.json()["detail"]
    assert not fake.playlists
    assert save(spotify_client, token, track_ids(10)).json()["status"] == "saved"  # not "exists"


def test_rate_limit_midway_reports_incomplete_then_update_finishes(
    spotify_client: TestClient, fake: FakeSpotify
):
    _, token = signed_in(spotify_client)
    connect(spotify_client, token)
    ids = track_ids(250)
    fake.fail("POST", "/v1/playlists/", 429, retry_after="120", skip=1)  # the second batch
    partial = save(spotify_client, token, ids).json()
    assert (partial["status"], partial["added"], partial["total"]) == ("incomplete", 100, 250)
    assert "slow down" in partial["problem"] and partial["retry_after_s"] == 120
    playlist_id = partial["playlist"]["id"]
    assert len(fake.playlists[playlist_id].items) == 100

    again = save(spotify_client, token, ids).json()
    assert again["status"] == "exists" and again["playlist"]["added"] == 100
    finished = save(spotify_client, token, ids, "update").json()
    assert (finished["status"], finished["added"]) == ("saved", 250)
    assert len(fake.playlists[playlist_id].items) == 250


def test_server_errors(spotify_client: TestClient, fake: FakeSpotify):
    _, token = signed_in(spotify_client)
    connect(spotify_client, token)
    ids = track_ids(150)

    fake.fail("POST", "/v1/me/playlists", 503)  # creating is not repeated: nothing saved
    response = save(spotify_client, token, ids)
    assert response.status_code == 502 and "Spotify is having trouble" in response.json()["detail"]
    assert not fake.playlists

    fake.fail("POST", "/v1/playlists/", 500)  # the first batch fails after the playlist exists
    result = save(spotify_client, token, ids).json()
    assert (result["status"], result["added"], result["total"]) == ("incomplete", 0, 150)
    assert "answered 500" in result["problem"]

    fake.fail("PUT", "/v1/playlists/", 502)  # renaming is idempotent: retried, the update goes on
    finished = save(spotify_client, token, ids, "update").json()
    assert (finished["status"], finished["added"]) == ("saved", 150)
    assert len(fake.playlists[finished["playlist"]["id"]].items) == 150


def test_disconnect_forgets_the_tokens(spotify_client: TestClient, fake: FakeSpotify, auth_db_url: str):
    user, token = signed_in(spotify_client)
    connect(spotify_client, token)
    assert spotify_client.delete("/spotify", headers=bearer(token)).status_code == 204
    assert spotify_client.get("/spotify", headers=bearer(token)).json()["connected"] is False
    response = save(spotify_client, token, track_ids(2))
    assert response.status_code == 403 and "Connect Spotify" in response.json()["detail"]
    with psycopg.connect(auth_db_url) as conn:
        assert (
            conn.execute("SELECT count(*) FROM spotify_links WHERE user_id = %s", (user["id"],)).fetchone()[0]
            == 0
        )


def test_bad_save_requests(spotify_client: TestClient, fake: FakeSpotify):
    _, token = signed_in(spotify_client)
    connect(spotify_client, token)
    assert save(spotify_client, token, []).status_code == 422
    assert save(spotify_client, token, track_ids(1001)).status_code == 422
    assert save(spotify_client, token, ["x" * 65]).status_code == 422
    assert save(spotify_client, token, track_ids(1), name="").status_code == 422
    assert not fake.playlists
