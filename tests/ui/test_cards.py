import pytest
from pydantic import ValidationError

from services.common.contracts.search import SearchPage
from services.common.contracts.songs import Song
from services.common.media_urls import ART_HOSTS, PREVIEW_HOSTS, allowed_url, spotify_embed_url
from services.ui.cards import card_html, card_update, results_html
from tests.ui.helpers import hit, song_dict


def test_card_shows_title_artist_genre_year_score_radar_and_spotify_link():
    html = card_html(Song(**song_dict("abc")), 0.4321, ["cheerful", "pop song"])
    assert "Title abc" in html and "Artist abc" in html
    assert "pop · 2001" in html
    assert "match 0.43" in html
    assert '<svg class="pp-radar"' in html
    assert 'href="https://open.spotify.com/track/abc" target="_blank" rel="noopener noreferrer"' in html
    assert "matched on: cheerful, pop song" in html
    assert 'data-action="similar" data-track-id="abc"' in html
    assert "<audio" not in html  # no iTunes preview → no audio player
    assert "pp-art-placeholder" in html  # not enriched → placeholder art


def test_enriched_card_uses_itunes_art_genre_year_and_preview():
    song = Song(
        **song_dict(
            "e1",
            enrich_status="ok",
            art_url="https://is1-ssl.mzstatic.com/a/600x600bb.jpg",
            preview_url="https://audio-ssl.itunes.apple.com/p.m4a",
            itunes_genre="Soul",
            itunes_year=1999,
        )
    )
    html = card_html(song, 0.2)
    assert '<img class="pp-art" src="https://is1-ssl.mzstatic.com/a/600x600bb.jpg"' in html
    assert 'data-art-source="itunes"' in html
    assert (
        '<audio class="pp-audio" controls preload="none" src="https://audio-ssl.itunes.apple.com/p.m4a"'
        in html
    )
    assert "pp-embed-load" not in html and "data-pending" not in html
    assert "Soul · 1999" in html


def test_art_of_a_song_whose_enrichment_failed_is_the_placeholder():
    song = Song(**song_dict("f1", enrich_status="failed", art_url="https://is1-ssl.mzstatic.com/a.jpg"))
    assert "mzstatic" not in card_html(song)


def test_untrusted_text_is_escaped_and_script_urls_are_dropped():
    # Every text and URL field a card shows, as an attacker would fill it.
    script_urls = {
        f"{field}_url": f"javascript:alert({i})"
        for i, field in enumerate(("spotify", "preview", "art"), start=1)
    }
    evil = song_dict('x"><script>', title="<script>alert(1)</script>", artist="A & B <i>", enrich_status="ok")
    html = card_html(Song(**evil | script_urls), 0.1, ["<b>bold</b>"])
    assert "<script>" not in html and "javascript:" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "A &amp; B &lt;i&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert 'data-track-id="x&quot;&gt;&lt;script&gt;"' in html
    assert "Open on Spotify" not in html


TRACK = "4uLU6hMCjMI75M1A2tKUQC"  # a real 22-character Spotify track id


def test_spotify_art_fills_the_card_until_itunes_art_arrives_and_itunes_wins():
    spotify = {"spotify_art_status": "ok", "spotify_art_url": "https://i.scdn.co/image/ab67616d0000b273aa"}
    waiting = Song(**song_dict(TRACK, **spotify))
    html = card_html(waiting)
    assert 'src="https://i.scdn.co/image/ab67616d0000b273aa"' in html and 'data-art-source="spotify"' in html
    assert " data-pending" in html  # the iTunes lookup (preview, metadata) is still to come
    both = Song(
        **song_dict(
            TRACK, enrich_status="ok", art_url="https://is1-ssl.mzstatic.com/x/600x600bb.jpg", **spotify
        )
    )
    assert both.art_source == "itunes" and "i.scdn.co" not in card_html(both)
    assert both.field_sources["art"] == "itunes" and waiting.field_sources["art"] == "spotify"
    # iTunes found nothing: Spotify's art stays, and the card stops waiting.
    missed = Song(**song_dict(TRACK, enrich_status="not_found", **spotify))
    assert missed.art_source == "spotify" and card_update(missed)["done"] is True


def test_a_card_without_itunes_preview_offers_a_click_to_load_spotify_player():
    html = card_html(Song(**song_dict(TRACK)))
    assert "<iframe" not in html  # nothing loads from Spotify before the click
    assert f'data-embed-src="https://open.spotify.com/embed/track/{TRACK}"' in html
    assert 'class="pp-embed-load"' in html and "Play on Spotify" in html
    # A track id that is not a Spotify id gets no player at all.
    assert "pp-embed-load" not in card_html(Song(**song_dict('x" onclick="alert(1)')))


def test_only_https_urls_on_the_expected_hosts_are_rendered():
    bad = [
        "http://i.scdn.co/image/a",  # not https
        "https://evil.example/a.jpg",
        "https://i.scdn.co.evil.example/a.jpg",
        "https://user:pw@i.scdn.co/a.jpg",
        "javascript:alert(1)",
        "https://i.scdn.co/a b.jpg",
    ]
    for url in bad:
        song = Song(**song_dict(TRACK, spotify_art_status="ok", spotify_art_url=url))
        assert "pp-art-placeholder" in card_html(song), url
        assert allowed_url(url, ART_HOSTS) is None
    assert allowed_url("https://is3-ssl.mzstatic.com/a.jpg", ART_HOSTS) is not None
    assert allowed_url("https://audio-ssl.itunes.apple.com/p.m4a", PREVIEW_HOSTS) is not None
    assert allowed_url("https://audio-ssl.itunes.apple.com/p.m4a", ART_HOSTS) is None
    assert spotify_embed_url("../../evil") is None


def test_card_update_gives_the_new_art_and_preview_only_when_they_exist():
    update = card_update(Song(**song_dict(TRACK)))
    assert "pp-art-placeholder" in update["art"] and update["preview"] is None and update["done"] is False
    matched = {"enrich_status": "ok", "art_url": "https://is1-ssl.mzstatic.com/x/600x600bb.jpg"}
    done = card_update(
        Song(**song_dict(TRACK, preview_url="https://audio-ssl.itunes.apple.com/p.m4a", **matched))
    )
    assert done["preview"].startswith("<audio") and done["done"] is True


def test_results_grid_renders_every_hit_and_a_broken_payload_never_reaches_it():
    html = results_html([hit("a"), hit("b")], heading="Songs for <you>")
    assert html.count('<article class="pp-card"') == 2
    # The search client reads every answer into the contract: a song without its id is refused there.
    page = {
        "hits": [{"score": 0.3, "song": {"title": "no id"}}],
        "offset": 0,
        "limit": 1,
        "next_offset": None,
    }
    with pytest.raises(ValidationError):
        SearchPage.model_validate(page | {"query_vector": [1.0], "model_id": "m"})
    assert '<h2 class="pp-results-heading">Songs for &lt;you&gt;</h2>' in html
    assert 'class="pp-grid"' in html


def test_results_without_hits_show_the_empty_message():
    html = results_html([], heading="H", empty="No songs matched.")
    assert "pp-grid" not in html and "No songs matched." in html
