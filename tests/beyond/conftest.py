"""Fixtures of the song-name, similar-by-sound and moodboard tests: the search-service ones."""

from tests.search.conftest import (  # noqa: F401 - re-exported fixtures
    backend,
    catalog_slice,
    client,
    empty_client,
    encoder,
    ro_client,
    search_env,
)
