"""Enrichment progress on search's ``/metrics``: songs per enrichment status in the active collection.

Counted from the songs' payloads at scrape time, so the figures are right however many enricher
workers run (the Celery workers serve no metrics of their own) and survive their restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.search import enrichment
from services.search.storage.store import VectorStore

log = logging.getLogger(__name__)


class EnrichmentCollector(Collector):
    """Songs per status, the share already looked up and the ETA of the rest at the iTunes limit."""

    def __init__(self, store: VectorStore, lookups_per_second: float):
        self.store = store
        self.lookups_per_second = lookups_per_second

    def describe(self) -> list:
        return []  # nothing to count at registration: the collection may not exist yet

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            if self.store.active_version() is None:
                return
            counts = enrichment.stats(self.store).model_dump()
        except Exception:  # a scrape during a re-index or a Qdrant outage must not fail /metrics
            log.warning("enrichment counts unavailable for /metrics", exc_info=True)
            return
        family = GaugeMetricFamily(
            "pixelplay_songs", "Songs in the active collection by enrichment status", labels=["enrich_status"]
        )
        for status, count in counts.items():
            family.add_metric([status], count)
        yield family
        total = sum(counts.values())
        yield GaugeMetricFamily(
            "pixelplay_enrichment_progress_ratio",
            "Share of songs with an iTunes result (ok, not_found or failed)",
            value=(total - counts["pending"]) / total if total else 1.0,
        )
        yield GaugeMetricFamily(
            "pixelplay_enrichment_eta_seconds",
            "Time the pending songs need at the global iTunes rate limit",
            value=counts["pending"] / self.lookups_per_second,
        )
