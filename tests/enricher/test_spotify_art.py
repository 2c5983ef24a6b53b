"""Spotify oEmbed art: the client's fault policy against the fake, and what reaches the real search."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from services.common.clients.search import SearchClient
from services.common.contracts.songs import Enrichment, SpotifyArt
from services.enricher.art import fetch_art
from services.enricher.deps import make_limiter
from services.enricher.retrying_get import LookupFailed, NotFound
from services.enricher.settings import get_settings
from services.enricher.spotify_art import SpotifyArtClient
from tests.enricher.fake_itunes import FakeItunes, Step, spotify_thumbnail
from tests.enricher.stack import search_with_songs, vector_for

BOHEMIAN, TAKE_ON_ME, AFRICA = "1AhDOtG9vPSOmsWgNW0BEY", "1nbMkRhfldXcmCyB83x8lK", "2374M0fQpWi3dLnB54qaLX"
SHAPE_OF_YOU, BLINDING_LIGHTS = "0FE9t6xYkqWXU2ahLh6D8X", "0sf12qNH5qcw8qpgymFOqD"


@pytest.fixture
def client(enricher_env: dict[str, str], redis_client: redis.Redis) -> Iterator[SpotifyArtClient]:
    settings = get_settings()
    art = SpotifyArtClient(settings, make_limiter(settings, redis_client, "spotify_oembed"))
    yield art
    art.close()


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchClient]:
    with search_with_songs(
        {BOHEMIAN, TAKE_ON_ME, AFRICA, SHAPE_OF_YOU, BLINDING_LIGHTS}, tmp_path_factory.mktemp("art-var")
    ) as c:
        yield c


def test_oembed_is_asked_for_the_track_url_and_gives_the_thumbnail(
    client: SpotifyArtClient, fake_itunes: FakeItunes
) -> None:
    assert client.art_url(BOHEMIAN) == spotify_thumbnail(BOHEMIAN)
    [call] = fake_itunes.oembed_calls
    assert call.params == {"url": f"https://open.spotify.com/track/{BOHEMIAN}"}


def test_429_with_retry_after_and_5xx_are_retried_then_succeed(
    client: SpotifyArtClient, fake_itunes: FakeItunes
) -> None:
    fake_itunes.plan_oembed(BOHEMIAN, [Step(status=429, retry_after="1"), Step(status=502), Step()])
    assert client.art_url(BOHEMIAN) == spotify_thumbnail(BOHEMIAN)
    calls = fake_itunes.oembed_calls_for(BOHEMIAN)
    assert [c.status for c in calls] == [429, 502, 200]
    assert calls[1].at - calls[0].at >= 0.95  # the Retry-After was honoured


def test_faults_are_bounded_and_give_a_reason(client: SpotifyArtClient, fake_itunes: FakeItunes) -> None:
    fake_itunes.plan_oembed(BOHEMIAN, [Step(status=503)])
    with pytest.raises(LookupFailed, match="gave up after 3 tries: Spotify oEmbed answered 503"):
        client.art_url(BOHEMIAN)
    assert len(fake_itunes.oembed_calls_for(BOHEMIAN)) == 3
    fake_itunes.plan_oembed(TAKE_ON_ME, [Step(delay_s=1.5)])  # longer than the 1 s timeout
    with pytest.raises(LookupFailed, match="gave up after 3 tries: timeout"):
        client.art_url(TAKE_ON_ME)


def test_garbage_is_retried_unknown_tracks_are_not_found_and_bad_urls_are_dropped(
    client: SpotifyArtClient, fake_itunes: FakeItunes
) -> None:
    fake_itunes.plan_oembed(SHAPE_OF_YOU, [Step(body=b"<html>oops"), Step()])
    assert client.art_url(SHAPE_OF_YOU) == spotify_thumbnail(SHAPE_OF_YOU)
    assert [c.status for c in fake_itunes.oembed_calls_for(SHAPE_OF_YOU)] == [200, 200]
    fake_itunes.plan_oembed(BOHEMIAN, [Step(body=b"<html>oops")])
    gave_up = "gave up after 3 tries: malformed Spotify oEmbed response: not JSON"
    with pytest.raises(LookupFailed, match=gave_up):
        client.art_url(BOHEMIAN)
    assert len(fake_itunes.oembed_calls_for(BOHEMIAN)) == 3
    fake_itunes.plan_oembed(AFRICA, [Step(body=b"[1, 2]")])
    with pytest.raises(LookupFailed, match="not a JSON object"):
        client.art_url(AFRICA)
    assert len(fake_itunes.oembed_calls_for(AFRICA)) == 1  # well-formed JSON of the wrong shape: final
    fake_itunes.plan_oembed(TAKE_ON_ME, [Step(status=404)])
    with pytest.raises(NotFound):
        client.art_url(TAKE_ON_ME)
    for bad in ("http://i.scdn.co/image/abc", "https://evil.example/a.jpg", "javascript:alert(1)", 42):
        fake_itunes.plan_oembed(
            TAKE_ON_ME, [Step(body=f'{{"thumbnail_url": {bad!r}}}'.replace("'", '"').encode())]
        )
        assert client.art_url(TAKE_ON_ME) is None, bad


def test_art_reaches_search_and_no_source_blanks_another(
    client: SpotifyArtClient, fake_itunes: FakeItunes, search: SearchClient
) -> None:
    outcome = fetch_art(BOHEMIAN, store=search, lookup=client.art_url)
    assert (outcome.action, outcome.status) == ("stored", "ok")
    song = search.song(BOHEMIAN)
    assert song.spotify_art_url == spotify_thumbnail(BOHEMIAN) and song.spotify_art_status == "ok"
    # An iTunes lookup that failed writes only iTunes' fields: Spotify's art stays.
    search.update_enrichment(
        BOHEMIAN,
        Enrichment.model_validate({"enrich_status": "failed", "enrich_reason": "iTunes answered 503"}),
    )
    song = search.song(BOHEMIAN)
    assert song.enrich_status == "failed" and song.spotify_art_url == spotify_thumbnail(BOHEMIAN)
    # Art already stored: no second call.
    assert fetch_art(BOHEMIAN, store=search, lookup=client.art_url).action == "skipped"
    assert len(fake_itunes.oembed_calls_for(BOHEMIAN)) == 1

    # An unknown track is a final not_found; a later failed call keeps it instead of writing "failed".
    fake_itunes.plan_oembed(AFRICA, [Step(status=404)])
    assert fetch_art(AFRICA, store=search, lookup=client.art_url).status == "not_found"
    fake_itunes.plan_oembed(AFRICA, [Step(status=500)])
    kept = fetch_art(AFRICA, store=search, lookup=client.art_url)
    assert kept.action == "skipped" and "kept previous not_found" in (kept.reason or "")
    assert search.song(AFRICA).spotify_art_status == "not_found"

    # Faults end as "failed" with the reason, and iTunes' fields are untouched.
    fake_itunes.plan_oembed(TAKE_ON_ME, [Step(body=b"garbage")])
    before = search.song(TAKE_ON_ME)
    assert fetch_art(TAKE_ON_ME, store=search, lookup=client.art_url).status == "failed"
    after = search.song(TAKE_ON_ME)
    assert after.spotify_art_status == "failed" and "not JSON" in after.spotify_art_reason
    assert after.model_dump(include={"enrich_status", "art_url", "preview_url"}) == before.model_dump(
        include={"enrich_status", "art_url", "preview_url"}
    )


def test_an_older_art_result_never_replaces_a_newer_one(search: SearchClient) -> None:
    newer = SpotifyArt(
        spotify_art_status="ok", spotify_art_url=spotify_thumbnail(SHAPE_OF_YOU), spotify_art_at=2e9
    )
    assert search.update_spotify_art(SHAPE_OF_YOU, newer).applied is True
    older = SpotifyArt(spotify_art_status="failed", spotify_art_reason="late", spotify_art_at=1e9)
    assert search.update_spotify_art(SHAPE_OF_YOU, older).applied is False
    assert search.song(SHAPE_OF_YOU).spotify_art_status == "ok"


def test_song_answers_say_where_each_field_came_from(search: SearchClient) -> None:
    def provenance() -> list[tuple[object, object]]:
        """``(art_source, field_sources)`` as GET /songs/{id} and a search hit both answer them."""
        hits = search.search_vector(vector_for(BLINDING_LIGHTS), limit=5, diversity="off").hits
        [hit] = [h.song for h in hits if h.song.track_id == BLINDING_LIGHTS]
        song = search.song(BLINDING_LIGHTS)
        assert (hit.art_source, hit.field_sources) == (song.art_source, song.field_sources)
        return song.art_source, song.field_sources

    catalog_only = {"art": "none", "preview": "none", "genre": "catalog", "year": "catalog"}
    assert provenance() == (None, catalog_only)
    search.update_spotify_art(
        BLINDING_LIGHTS,
        SpotifyArt.model_validate(
            {
                "spotify_art_status": "ok",
                "spotify_art_url": spotify_thumbnail(BLINDING_LIGHTS),
                "spotify_art_at": 1e9,
            }
        ),
    )
    assert provenance() == ("spotify", catalog_only | {"art": "spotify"})
    itunes = Enrichment(
        enrich_status="ok",
        enriched_at=1e9,
        art_url="https://is1-ssl.mzstatic.com/image/thumb/Music/v4/a.jpg/600x600bb.jpg",
        preview_url="https://audio-ssl.itunes.apple.com/itunes-assets/a.m4a",
        itunes_genre="Pop",
        itunes_year=2019,
    )
    search.update_enrichment(BLINDING_LIGHTS, itunes)
    everything_from_itunes = {"art": "itunes", "preview": "itunes", "genre": "itunes", "year": "itunes"}
    assert provenance() == ("itunes", everything_from_itunes)
