"""The "Catalogs" filter: offered only when an imported catalog sits beside the bundled one."""

from __future__ import annotations

from services.ui.callbacks import Callbacks, filters_from


def test_chosen_catalogs_become_the_sources_filter():
    assert filters_from(None, None, None, None, ["mine"]) == {"sources": ["mine"]}
    assert filters_from(["pop"], None, None, None, []) == {"genres": ["pop"]}


class OptionsOnly:
    """A backend answering only ``filter_options`` (what search's /filters returns)."""

    settings = None

    def __init__(self, sources: list[str]):
        self.sources = sources

    def filter_options(self) -> dict:
        return {"genres": ["pop"], "year_min": 1960, "year_max": 2020, "sources": self.sources}


def test_the_catalog_choice_shows_only_when_there_is_a_choice():
    shown = Callbacks(OptionsOnly(["bundled", "mine"]))._filter_options()["catalogs"]  # type: ignore[arg-type]
    assert shown["visible"] is True and shown["choices"] == ["bundled", "mine"]
    hidden = Callbacks(OptionsOnly(["bundled"]))._filter_options()["catalogs"]  # type: ignore[arg-type]
    assert hidden["visible"] is False
