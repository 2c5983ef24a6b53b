"""The iTunes client against the fake server over real HTTP, with the real Redis rate limiter."""

from __future__ import annotations

import email.utils
import time
import uuid

import pytest
import redis

from services.common.settings import load_settings
from services.enricher.deps import make_limiter
from services.enricher.itunes import ItunesClient, large_artwork, parse_candidates
from services.enricher.retrying_get import LookupFailed, backoff_delay, retry_after_seconds
from services.enricher.settings import get_settings
from tests.enricher.fake_itunes import FIXTURES, FakeItunes, Step


@pytest.fixture
def client(enricher_env: dict[str, str], redis_client: redis.Redis) -> ItunesClient:
    settings = get_settings()
    limiter = make_limiter(settings, redis_client)
    limiter.reset()
    itunes = ItunesClient(settings, limiter)
    yield itunes
    itunes.close()


def test_parse_real_shape_keeps_songs_only() -> None:
    candidates = parse_candidates(FIXTURES["bohemian_rhapsody"])
    assert [c.itunes_id for c in candidates] == [1601221001, 1440650720, 1440650711]  # no music video
    studio = candidates[2]
    assert studio.duration_ms == 354947 and studio.release_year == 1975 and studio.genre == "Rock"
    assert studio.preview_url and studio.preview_url.endswith(".m4a")


def test_parse_tolerates_wrong_and_missing_fields() -> None:
    [only] = parse_candidates(FIXTURES["odd_fields"])
    assert (only.title, only.artist) == ("Take On Me", "a-ha")
    assert only.duration_ms is None and only.itunes_id is None and only.release_year is None
    assert only.preview_url is None and only.artwork_url is None


@pytest.mark.parametrize("body", [None, [], {"resultCount": 1}, {"results": "nope"}])
def test_parse_rejects_a_body_that_is_not_a_search_answer(body: object) -> None:
    with pytest.raises(LookupFailed, match="malformed"):
        parse_candidates(body)


def test_artwork_is_rewritten_to_600() -> None:
    url = "https://is1-ssl.mzstatic.com/image/thumb/Music115/v4/2b/2f/4f/1440650428.jpg/100x100bb.jpg"
    assert large_artwork(url) == url.replace("100x100bb.jpg", "600x600bb.jpg")
    assert large_artwork("https://example.invalid/cover.png") == "https://example.invalid/cover.png"
    assert large_artwork(None) is None


def test_retry_after_header_forms() -> None:
    assert retry_after_seconds("7") == 7.0
    now = time.time()
    assert retry_after_seconds(email.utils.formatdate(now + 30, usegmt=True), now=now) == pytest.approx(
        30, abs=1
    )
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_backoff_grows_and_is_capped() -> None:
    for attempt in range(1, 8):
        base = min(2.0, 0.1 * 2 ** (attempt - 1))
        assert base / 2 <= backoff_delay(attempt, 0.1, 2.0) <= base


def test_search_sends_the_documented_query(client: ItunesClient, fake_itunes: FakeItunes) -> None:
    fake_itunes.plan("take on me", [Step(fixture="take_on_me")])
    [candidate] = client.search("a-ha Take On Me")
    assert candidate.itunes_id == 1035048414
    [call] = fake_itunes.calls
    assert call.params == {
        "term": "a-ha Take On Me",
        "media": "music",
        "entity": "song",
        "limit": "10",
        "country": "US",
    }


def test_server_errors_are_retried_until_success(client: ItunesClient, fake_itunes: FakeItunes) -> None:
    fake_itunes.plan("take on me", [Step(status=500), Step(status=503), Step(fixture="take_on_me")])
    assert [c.itunes_id for c in client.search("a-ha Take On Me")] == [1035048414]
    assert [c.status for c in fake_itunes.calls] == [500, 503, 200]


def test_429_honours_retry_after_and_pauses_every_worker(
    client: ItunesClient, fake_itunes: FakeItunes
) -> None:
    fake_itunes.plan("take on me", [Step(status=429, retry_after="1"), Step(fixture="take_on_me")])
    assert client.search("a-ha Take On Me")
    first, second = fake_itunes.calls
    assert first.status == 429 and second.status == 200
    # Backoff alone would be <= 0.2 s here; the gap comes from Retry-After (a lower bound, not speed).
    assert second.at - first.at >= 0.9


def test_pause_after_429_blocks_other_limiter_users(
    enricher_env: dict[str, str],
    fake_itunes: FakeItunes,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "PIXELPLAY_ENRICHER_ITUNES_MAX_TRIES", "1"
    )  # fail right after the 429, while the pause holds
    load_settings.cache_clear()
    settings = get_settings()
    make_limiter(settings, redis_client).reset()
    fake_itunes.plan("blinding", [Step(status=429, retry_after="30")])
    with pytest.raises(LookupFailed, match="iTunes answered 429"):
        ItunesClient(settings, make_limiter(settings, redis_client)).search("The Weeknd Blinding Lights")
    # Another worker's limiter (same Redis keys) must wait out the Retry-After (capped at 2 s here).
    other = make_limiter(settings, redis_client)
    assert 1.0 < other.try_acquire() <= 2.0


def test_429_without_retry_after_pauses_every_worker_for_one_window(
    client: ItunesClient, fake_itunes: FakeItunes, redis_client: redis.Redis
) -> None:
    fake_itunes.plan("take on me", [Step(status=429), Step(fixture="take_on_me")])
    assert client.search("a-ha Take On Me")
    first, second = fake_itunes.calls
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.9  # the 1 s rate window of these tests, not the 0.05 s backoff


def test_tries_are_bounded_then_the_reason_is_given(client: ItunesClient, fake_itunes: FakeItunes) -> None:
    fake_itunes.plan("blinding", [Step(status=500)])
    with pytest.raises(LookupFailed, match=r"gave up after 3 tries: iTunes answered 500"):
        client.search("The Weeknd Blinding Lights")
    assert len(fake_itunes.calls) == 3


def test_timeouts_are_retried(client: ItunesClient, fake_itunes: FakeItunes) -> None:
    fake_itunes.plan(
        "smells",
        [Step(fixture="smells_like_teen_spirit", delay_s=1.5), Step(fixture="smells_like_teen_spirit")],
    )
    assert [c.itunes_id for c in client.search("Nirvana Smells Like Teen Spirit")] == [1440783617]
    assert len(fake_itunes.calls) == 2


def test_connection_refused_is_retried_then_fails(
    enricher_env: dict[str, str], redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.common.embedded import free_port

    monkeypatch.setenv("PIXELPLAY_ENRICHER_ITUNES_URL", f"http://127.0.0.1:{free_port()}/search")
    load_settings.cache_clear()
    itunes = ItunesClient(get_settings(), make_limiter(get_settings(), redis_client))
    with pytest.raises(LookupFailed, match="gave up after 3 tries: connection error"):
        itunes.search("anything")


@pytest.mark.parametrize(
    "garbage",
    [
        b"<html><body>Service Temporarily Unavailable</body></html>",
        b'{"resultCount": 1, "results": [{"trackName": ',
    ],
)
def test_garbage_bodies_are_retried_then_fail_with_the_reason(
    client: ItunesClient, fake_itunes: FakeItunes, garbage: bytes
) -> None:
    # A body that is not JSON is a proxy's error page or a cut-off answer: the next try may be whole.
    fake_itunes.plan("take on me", [Step(body=garbage), Step(fixture="take_on_me")])
    assert [c.itunes_id for c in client.search("a-ha Take On Me")] == [1035048414]
    assert len(fake_itunes.calls) == 2
    fake_itunes.plan("shape of you", [Step(body=garbage)])
    with pytest.raises(LookupFailed, match=r"gave up after 3 tries: malformed iTunes response: not JSON"):
        client.search("Ed Sheeran Shape of You")
    assert len(fake_itunes.calls_for("shape of you")) == 3


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (Step(body=b'{"errorMessage": "Invalid value(s) for key(s): [country]"}'), "no 'results' list"),
        (Step(status=400), "iTunes answered 400"),
    ],
)
def test_refusals_of_the_request_fail_at_once(
    client: ItunesClient, fake_itunes: FakeItunes, step: Step, reason: str
) -> None:
    fake_itunes.plan("shape of you", [step])
    with pytest.raises(LookupFailed, match=reason):
        client.search("Ed Sheeran Shape of You")
    assert len(fake_itunes.calls) == 1  # the same request would be refused again


def test_every_attempt_takes_a_rate_limit_slot(
    enricher_env: dict[str, str],
    redis_client: redis.Redis,
    fake_itunes: FakeItunes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 2 calls per 1 s window: three attempts (two 500s, then success) need a second window.
    monkeypatch.setenv("PIXELPLAY_ENRICHER_ITUNES_CALLS_PER_MINUTE", "120")
    monkeypatch.setenv("PIXELPLAY_ENRICHER_QUEUE", f"test-slots-{uuid.uuid4().hex[:6]}")
    load_settings.cache_clear()
    itunes = ItunesClient(get_settings(), make_limiter(get_settings(), redis_client))
    fake_itunes.plan("take on me", [Step(status=500), Step(status=500), Step(fixture="take_on_me")])
    assert itunes.search("a-ha Take On Me")
    first, _, third = fake_itunes.calls
    assert third.at - first.at >= 0.9
