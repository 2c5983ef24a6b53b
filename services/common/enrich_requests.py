"""Ask the enricher for the songs people are looking at now, ahead of the batch backlog.

Shared by whoever shows songs (search answers a page); it talks to the enricher only through
Redis, by task name, so no service imports the enricher's package. Workers read three queues in a
fixed order (``queue_names``): Spotify art for songs on screen, then their iTunes lookups, then the
batch backlog. A Redis key per song with a TTL makes a song shown to fifty people one request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import redis
from celery import Celery

from services.common.contracts.songs import Song

log = logging.getLogger(__name__)

ENRICH_TASK = "enricher.enrich_song"
ART_TASK = "enricher.fetch_spotify_art"


@dataclass(frozen=True)
class QueueNames:
    art: str  # oEmbed art of songs on screen: cheap, fast, first
    visible: str  # iTunes lookups of songs on screen
    backlog: str  # the batch job's lookups, most popular song first

    def in_priority_order(self) -> tuple[str, str, str]:
        return (self.art, self.visible, self.backlog)


def queue_names(base: str) -> QueueNames:
    """The enricher's queues; ``base`` (``PIXELPLAY_ENRICHER_QUEUE``) is the backlog's own name."""
    return QueueNames(art=f"{base}.art", visible=f"{base}.visible", backlog=base)


def _seen_key(base: str, track_id: str) -> str:
    return f"pixelplay:enricher:{base}:visible:{track_id}"


def _fully_sent(song: Song, sent: list[tuple[str, str]]) -> bool:
    wanted = {ART_TASK: song.needs_art, ENRICH_TASK: song.needs_lookup}
    return all((task, song.track_id) in sent for task, needed in wanted.items() if needed)


class EnrichRequests:
    """Queues the enrichment of songs on screen, once per song per ``dedup_ttl_s``."""

    def __init__(self, redis_url: str, base_queue: str, dedup_ttl_s: int):
        self.queues = queue_names(base_queue)
        self.base = base_queue
        self.dedup_ttl_s = dedup_ttl_s
        # Short socket timeouts: a Redis outage must cost a search a few ms, never its answer.
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
        self.celery = Celery("pixelplay-enrich-requests", broker=redis_url, set_as_current=False)
        self.celery.conf.update(
            broker_connection_retry=False,
            broker_connection_max_retries=0,
            broker_transport_options={"socket_timeout": 1, "socket_connect_timeout": 1},
        )

    def claim(self, track_id: str) -> bool:
        """True for the first caller within the TTL; later callers see the song as already asked for."""
        return bool(self.redis.set(_seen_key(self.base, track_id), 1, nx=True, ex=self.dedup_ttl_s))

    def request(self, songs: Iterable[Song]) -> list[str]:
        """Queue art and lookups for the songs that still need them; return the track ids queued.

        Every art task goes before every lookup: art for a whole page takes seconds, iTunes'
        limit makes the lookups take minutes.
        """
        claimed = [s for s in songs if (s.needs_art or s.needs_lookup) and self.claim(s.track_id)]
        sent: list[tuple[str, str]] = []
        try:
            for task, queue, wanted in (
                (ART_TASK, self.queues.art, "needs_art"),
                (ENRICH_TASK, self.queues.visible, "needs_lookup"),
            ):
                for song in claimed:
                    if getattr(song, wanted):
                        self.celery.send_task(task, args=[song.track_id], queue=queue, retry=False)
                        sent.append((task, song.track_id))
        except Exception:
            # A song whose tasks did not all reach the broker must not sit behind its key for the
            # whole TTL: the next page showing it asks again.
            self._unclaim([s for s in claimed if not _fully_sent(s, sent)])
            raise
        return [s.track_id for s in claimed]

    def _unclaim(self, songs: list[Song]) -> None:
        if songs:
            self.redis.delete(*(_seen_key(self.base, s.track_id) for s in songs))

    def request_quietly(self, songs: Iterable[Song]) -> None:
        """``request``, logging instead of raising: enrichment is a bonus, never a failed search."""
        try:
            queued = self.request(songs)
        except Exception:  # noqa: BLE001 - Redis down or refusing: the search answer stands
            log.warning("could not queue the enrichment of songs on screen", exc_info=True)
            return
        if queued:
            log.info("queued enrichment of %d songs on screen", len(queued))

    def close(self) -> None:
        self.redis.close()
        self.celery.close()
