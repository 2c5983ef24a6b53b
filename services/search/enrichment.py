"""The enricher's view of the index: apply lookup results in order, list what still needs one."""

from __future__ import annotations

import threading
import time
from typing import Any

from pydantic import BaseModel

from services.common.contracts.search import EnrichmentResult, EnrichmentStats
from services.common.contracts.songs import Enrichment, EnrichStatus, Song, SpotifyArt
from services.search.storage.base import Conditions, point_id
from services.search.storage.store import VectorStore

ENRICHMENT_FIELDS = tuple(Enrichment.model_fields)
SPOTIFY_ART_FIELDS = tuple(SpotifyArt.model_fields)
STATUSES: tuple[EnrichStatus, ...] = ("pending", "ok", "not_found", "failed")
DAY_S = 86_400

# Read-compare-write of one song must not interleave with another update of the same song.
_update_lock = threading.Lock()


class UnknownSong(LookupError):
    pass


def is_stale(stored_at: float | None, incoming_at: float | None) -> bool:
    """A result older than the one stored loses; equal times apply again (retries are harmless)."""
    return stored_at is not None and incoming_at is not None and incoming_at < stored_at


def apply_enrichment(store: VectorStore, track_id: str, update: Enrichment) -> EnrichmentResult:
    """Write an iTunes result onto the song's payload unless a newer one is already stored."""
    update = update.model_copy(update={"enriched_at": update.enriched_at or time.time()})
    return _apply(store, track_id, update, "enriched_at")


def apply_spotify_art(store: VectorStore, track_id: str, update: SpotifyArt) -> EnrichmentResult:
    """Write an oEmbed result onto the song's payload unless a newer one is already stored.

    It touches only the ``spotify_art_*`` fields, so it never changes what iTunes filled.
    """
    update = update.model_copy(update={"spotify_art_at": update.spotify_art_at or time.time()})
    return _apply(store, track_id, update, "spotify_art_at")


def _apply(store: VectorStore, track_id: str, update: BaseModel, stamp: str) -> EnrichmentResult:
    pid = point_id(track_id)
    incoming_at = getattr(update, stamp)
    with _update_lock:
        points = store.retrieve(None, [pid])
        if not points:
            raise UnknownSong(f"no song with track_id '{track_id}'")
        song = Song.model_validate(points[0].payload)
        stored_at = getattr(song, stamp)
        if is_stale(stored_at, incoming_at):
            reason = (
                f"ignored: this result ({stamp}={incoming_at}) is older than the stored one "
                f"({stamp}={stored_at})"
            )
            return EnrichmentResult(**song.model_dump(), applied=False, reason=reason)
        fields = update.model_dump(mode="json")
        store.set_payload(None, pid, fields)
        return EnrichmentResult(**{**song.model_dump(), **fields}, applied=True)


# Each source's fields and the timestamp that orders its results.
SOURCES: tuple[tuple[tuple[str, ...], str], ...] = (
    (ENRICHMENT_FIELDS, "enriched_at"),
    (SPOTIFY_ART_FIELDS, "spotify_art_at"),
)


def newest_enrichment(*payloads: dict[str, Any] | None) -> dict[str, Any]:
    """Per source, the fields of whichever payload that source wrote last (empty if none did)."""
    kept: dict[str, Any] = {}
    for fields, stamp in SOURCES:
        done = [p for p in payloads if p and p.get(stamp) is not None]
        if done:
            best = max(done, key=lambda p: p[stamp])
            kept.update({k: best.get(k) for k in fields})
    return kept


def carry_enrichment(payload: dict[str, Any], *older: dict[str, Any] | None) -> dict[str, Any]:
    """``payload`` with each source's result taken from ``older`` payloads when theirs is newer."""
    kept = newest_enrichment(*older)
    for fields, stamp in SOURCES:
        if stamp in kept and (payload.get(stamp) or 0) < kept[stamp]:
            payload.update({k: kept[k] for k in fields})
    return payload


def pending_conditions(older_than_days: float | None, everything: bool, now: float) -> Conditions:
    """Songs never looked up, plus those whose last lookup is older than ``older_than_days``."""
    if everything:
        return Conditions()
    either = [Conditions(match_any={"enrich_status": ["pending"]})]
    if older_than_days is not None:
        either.append(Conditions(ranges={"enriched_at": (None, now - older_than_days * DAY_S)}))
    return Conditions(either=either)


def pending(
    store: VectorStore, limit: int, after: str | None, older_than_days: float | None, everything: bool
) -> tuple[list[str], list[int | None], str | None]:
    """One page of songs needing a lookup: (track ids, their catalog popularity, next cursor)."""
    cond = pending_conditions(older_than_days, everything, time.time())
    points, nxt = store.scroll(None, cond, limit, after, ["track_id", "popularity"])
    return [p.payload["track_id"] for p in points], [p.payload.get("popularity") for p in points], nxt


def stats(store: VectorStore) -> EnrichmentStats:
    counts = {s: store.count(None, Conditions(match_any={"enrich_status": [s]})) for s in STATUSES}
    return EnrichmentStats(**counts)
