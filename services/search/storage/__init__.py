"""Vector storage for the search service: pick the backend from the settings."""

from __future__ import annotations

from services.search.settings import SearchSettings
from services.search.storage.store import VectorStore
from services.search.storage.tuning import layout_from, tuning_from


def open_store(settings: SearchSettings) -> VectorStore:
    """Qdrant server (or qdrant-client local mode for ``:memory:``) when QDRANT_URL is set,
    else the embedded qdrant-edge shards under ``settings.qdrant_folder``."""
    if settings.qdrant_url:
        from services.search.storage.server import ServerStore

        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        return ServerStore(
            settings.qdrant_url,
            settings.collection,
            api_key=key,
            tuning=tuning_from(settings),
            layout=layout_from(settings),
        )
    from services.search.storage.edge import EdgeStore

    return EdgeStore(settings.qdrant_folder, settings.collection, tuning=tuning_from(settings))
