"""The enricher's view of the index: apply lookup results in order, list what still needs one."""

from __future__ import annotations

import threading
import time
from typing import Any

from services.common.schemas import Enrichment, EnrichStatus, Song
from services.search.schemas import EnrichmentResult, EnrichmentStats
from services.search.storage.base import Conditions, VectorStore, point_id

ENRICHMENT_FIELDS = tuple(Enrichment.model_fields)
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
    """Write ``update`` onto the song's payload unless a newer result is already stored."""
    update = update.model_copy(update={"enriched_at": update.enriched_at or time.time()})
    pid = point_id(track_id)
    with _update_lock:
        points = store.retrieve(None, [pid])
        if not points:
            raise UnknownSong(f"no song with track_id '{track_id}'")
        song = Song.model_validate(points[0].payload)
        if is_stale(song.enriched_at, update.enriched_at):
            reason = (
                f"ignored: this result (enriched_at={update.enriched_at}) is older than the stored one "
                f"(enriched_at={song.enriched_at})"
            )
            return EnrichmentResult(**song.model_dump(), applied=False, reason=reason)
        fields = update.model_dump(mode="json")
        store.set_payload(None, pid, fields)
        return EnrichmentResult(**{**song.model_dump(), **fields}, applied=True)


def newest_enrichment(*payloads: dict[str, Any] | None) -> dict[str, Any] | None:
    """The enrichment fields of whichever payload was enriched last (None if none was)."""
    done = [p for p in payloads if p and p.get("enriched_at") is not None]
    if not done:
        return None
    best = max(done, key=lambda p: p["enriched_at"])
    return {k: best.get(k) for k in ENRICHMENT_FIELDS}


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
) -> tuple[list[str], str | None]:
    cond = pending_conditions(older_than_days, everything, time.time())
    points, nxt = store.scroll(None, cond, limit, after, ["track_id"])
    return [p.payload["track_id"] for p in points], nxt


def stats(store: VectorStore) -> EnrichmentStats:
    counts = {s: store.count(None, Conditions(match_any={"enrich_status": [s]})) for s in STATUSES}
    return EnrichmentStats(**counts)
