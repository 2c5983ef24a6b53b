"""Search's requests for the songs on screen, against a real Redis: a song whose task could not be
queued is not held back by its dedup key, so the next search showing it asks again."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from services.common.enrich_requests import EnrichRequests, queue_names
from tests.enricher.test_enrich import song


def _as_user(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.hostname}:{parts.port}"))


@pytest.fixture
def no_push_url(redis_client: redis.Redis, redis_url: str) -> Iterator[str]:
    """The same Redis as a user that may set keys but not push onto lists: the broker refuses the
    task after the dedup key was set (a real refusal from the server, as when it runs out of memory)."""
    user, password = f"nopush-{secrets.token_hex(4)}", secrets.token_hex(8)
    redis_client.execute_command(
        "ACL", "SETUSER", user, "on", f">{password}", "~*", "&*", "+@all", "-lpush", "-rpush"
    )
    try:
        yield _as_user(redis_url, user, password)
    finally:
        redis_client.execute_command("ACL", "DELUSER", user)


def test_a_song_whose_task_was_not_queued_is_asked_for_again(
    redis_client: redis.Redis, redis_url: str, no_push_url: str
) -> None:
    base = f"requests-{secrets.token_hex(4)}"
    shown = [song(track_id=f"{i:022d}") for i in range(3)]
    refused = EnrichRequests(no_push_url, base, dedup_ttl_s=3600)
    try:
        with pytest.raises(Exception, match="(?i)permission"):  # noqa: B017 - kombu's or redis-py's type
            refused.request(shown)
    finally:
        refused.close()
    working = EnrichRequests(redis_url, base, dedup_ttl_s=3600)
    try:
        assert working.request(shown) == [s.track_id for s in shown]
    finally:
        working.close()
    queues = queue_names(base)
    assert redis_client.llen(queues.art) == len(shown) and redis_client.llen(queues.visible) == len(shown)
