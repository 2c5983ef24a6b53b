"""The "Catalogs" filter: offered only when an imported catalog sits beside the bundled one."""

from __future__ import annotations

from types import SimpleNamespace

from services.common.contracts.search import FilterOptions
from services.ui.accounts import Accounts
from services.ui.query import filters_from


def test_chosen_catalogs_become_the_sources_filter():
    assert filters_from(None, None, None, None, ["mine"]) == {"sources": ["mine"]}
    assert filters_from(["pop"], None, None, None, []) == {"genres": ["pop"]}


class OptionsOnly:
    """A search client answering only ``filters`` (what search's /filters returns)."""

    def __init__(self, sources: list[str]):
        self.sources = sources

    def filters(self) -> FilterOptions:
        return FilterOptions(genres=["pop"], year_min=1960, year_max=2020, sources=self.sources)


def accounts_with(sources: list[str]) -> Accounts:
    return Accounts(SimpleNamespace(search=OptionsOnly(sources)), None)  # type: ignore[arg-type]


def test_the_catalog_choice_shows_only_when_there_is_a_choice():
    shown = accounts_with(["bundled", "mine"])._filter_options()["catalogs"]
    assert shown["visible"] is True and shown["choices"] == ["bundled", "mine"]
    hidden = accounts_with(["bundled"])._filter_options()["catalogs"]
    assert hidden["visible"] is False
