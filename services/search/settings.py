"""The search service's settings: ``PIXELPLAY_SEARCH_<FIELD>`` (docs/configuration.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import CommonSettings, load_settings, owned_by


class SearchSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="PIXELPLAY_SEARCH_")

    collection: str = "songs"
    qdrant_path: Path | None = None  # embedded shard folder; default data_dir / "qdrant"
    max_page_size: int = 100
    max_body_bytes: int = 12 * 1024 * 1024  # an image plus the form fields
    # Share of the audio-feature vector in "Find similar" (0 = description only, 1 = sound only);
    # chosen by measurement, see docs/quality.md.
    similar_audio_weight: float = Field(default=0.5, ge=0.0, le=1.0)

    # HNSW and int8 quantization, for the embedded store and a Qdrant server alike
    # (services/search/storage/tuning.py).
    hnsw_m: int = Field(32, ge=4, le=128)
    hnsw_ef_construct: int = Field(128, ge=8, le=1024)
    hnsw_ef: int = Field(2048, ge=8, le=8192)  # candidates per query: recall vs latency
    quantization: bool = True
    # A Qdrant cluster (QDRANT_URL set): shards per collection, copies of each, copies per write.
    shard_number: int = Field(1, ge=1)
    replication_factor: int = Field(1, ge=1)
    write_consistency_factor: int = Field(1, ge=1)

    # Search queues the songs of every page it answers (art, then iTunes) ahead of the backlog, once
    # per song per enrich_visible_ttl_s. Needs REDIS_URL; off when it is unset or this is False.
    enrich_on_view: bool = True
    enrich_visible_ttl_s: int = 3600

    # Owned by other services, read under their env names so both sides see one value.
    # The encoder's upload limit: search refuses a larger image before forwarding it.
    max_image_bytes: int = Field(10 * 1024 * 1024, validation_alias=owned_by("encoder", "max_image_bytes"))
    # The enricher's Celery queue, which search feeds with the songs on screen.
    enrich_queue: str = Field("enrich", validation_alias=owned_by("enricher", "queue"))
    # The enricher's iTunes pace, for the backlog's time-to-finish metric.
    itunes_calls_per_minute: int = Field(20, validation_alias=owned_by("enricher", "itunes_calls_per_minute"))
    itunes_rate_window_s: float = Field(6.0, validation_alias=owned_by("enricher", "itunes_rate_window_s"))

    @property
    def qdrant_folder(self) -> Path:
        return self.qdrant_path or self.data_dir / "qdrant"


def get_settings() -> SearchSettings:
    return load_settings(SearchSettings)
