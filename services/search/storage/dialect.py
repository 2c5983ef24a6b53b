"""One translation of the neutral ``Conditions`` into a backend's filter.

Both clients build filters from the same parts (field matches, ranges, id sets, text matches,
nested AND / OR / NOT groups) under different names; each backend names its constructors in a
``FilterDialect`` and ``to_filter`` composes them the same way for both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from services.search.storage.base import TEXT_FIELDS, Conditions


class FilterDialect(ABC):
    """A backend's filter constructors."""

    @abstractmethod
    def match_any(self, key: str, values: list[str]) -> Any:
        """The field (or one element of a list field) equals one of ``values``."""

    @abstractmethod
    def within(self, key: str, low: float | None, high: float | None) -> Any:
        """``low <= field <= high``; either end may be None."""

    @abstractmethod
    def has_id(self, ids: list[str]) -> Any: ...

    @abstractmethod
    def has_word(self, key: str, word: str) -> Any:
        """The text field has a word starting with ``word`` (full-text index)."""

    @abstractmethod
    def is_empty(self, key: str) -> Any: ...

    @abstractmethod
    def group(self, must: list[Any] | None = None, should: list[Any] | None = None,
              must_not: list[Any] | None = None) -> Any:  # fmt: skip
        """A filter: all of ``must``, at least one of ``should``, none of ``must_not``."""


def to_filter(cond: Conditions | None, dialect: FilterDialect) -> Any | None:
    """The backend filter for ``cond``; None when it is empty (every point passes)."""
    if cond is None or cond.is_empty():
        return None
    must = [dialect.match_any(key, list(values)) for key, values in cond.match_any.items()]
    must += [dialect.within(key, low, high) for key, (low, high) in cond.ranges.items()]
    if cond.either:
        must.append(dialect.group(should=[to_filter(c, dialect) for c in cond.either]))
    # A song is found by its name when the title or the artist has the word.
    must += [dialect.group(should=[dialect.has_word(key, w) for key in TEXT_FIELDS]) for w in cond.words]
    must += [dialect.is_empty(key) for key in cond.missing]
    must_not = [dialect.has_id(cond.exclude_ids)] if cond.exclude_ids else []
    must_not += [dialect.match_any(key, list(values)) for key, values in cond.exclude_any.items()]
    return dialect.group(must=must or None, must_not=must_not or None)
