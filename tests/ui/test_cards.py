from services.common.schemas import Song
from services.ui.cards import card_html, results_html, safe_url
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
    assert "<audio" not in html  # no preview → no player
    assert "pp-art-placeholder" in html  # not enriched → placeholder art


def test_enriched_card_uses_itunes_art_genre_year_and_preview():
    song = Song(
        **song_dict(
            "e1",
            enrich_status="ok",
            art_url="https://img.example/a.jpg",
            preview_url="https://audio.example/p.m4a",
            itunes_genre="Soul",
            itunes_year=1999,
        )
    )
    html = card_html(song, 0.2)
    assert '<img class="pp-art" src="https://img.example/a.jpg"' in html
    assert '<audio class="pp-audio" controls preload="none" src="https://audio.example/p.m4a">' in html
    assert "Soul · 1999" in html


def test_art_of_a_song_whose_enrichment_failed_is_the_placeholder():
    song = Song(**song_dict("f1", enrich_status="failed", art_url="https://img.example/a.jpg"))
    assert "img.example" not in card_html(song)


def test_untrusted_text_is_escaped_and_script_urls_are_dropped():
    evil = song_dict(
        'x"><script>',
        title="<script>alert(1)</script>",
        artist="A & B <i>",
        spotify_url="javascript:alert(1)",
        preview_url="javascript:alert(2)",
        enrich_status="ok",
        art_url="javascript:alert(3)",
    )
    html = card_html(Song(**evil), 0.1, ["<b>bold</b>"])
    assert "<script>" not in html and "javascript:" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "A &amp; B &lt;i&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert 'data-track-id="x&quot;&gt;&lt;script&gt;"' in html
    assert "Open on Spotify" not in html


def test_safe_url_accepts_only_http_schemes():
    assert safe_url("https://a.example/x?a=1&b=2") == "https://a.example/x?a=1&amp;b=2"
    assert safe_url("HTTP://a.example") == "HTTP://a.example"
    for bad in ("javascript:alert(1)", "data:text/html,hi", "", None, "//evil.example"):
        assert safe_url(bad) is None


def test_results_grid_renders_every_valid_hit_and_skips_broken_payloads():
    hits = [hit("a"), {"score": 0.3, "song": {"title": "no id"}}, hit("b")]
    html = results_html(hits, heading="Songs for <you>")
    assert html.count('<article class="pp-card"') == 2
    assert '<h2 class="pp-results-heading">Songs for &lt;you&gt;</h2>' in html
    assert 'class="pp-grid"' in html


def test_results_without_hits_show_the_empty_message():
    html = results_html([], heading="H", empty="No songs matched.")
    assert "pp-grid" not in html and "No songs matched." in html
