"""One translation of the neutral ``Conditions`` into a backend's filter.

Both clients build filters from the same parts (field matches, ranges, id sets, text matches,
nested AND / OR / NOT groups) under different names; each backend names its constructors in a
``FilterDialect``, whose ``filter`` composes them the same way for both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.search.storage.base import TEXT_FIELDS, Conditions


@dataclass(frozen=True)
class FilterDialect:
    """A backend's filter constructors."""

    match_any: Callable[[str, list[str]], Any]  # (key, values): equals one of them
    within: Callable[[str, float | None, float | None], Any]  # (key, low, high), inclusive
    has_id: Callable[[list[str]], Any]  # (point ids)
    has_word: Callable[[str, str], Any]  # (key, word): a word starts with it (full-text index)
    is_empty: Callable[[str], Any]  # (key)
    group: Callable[..., Any]  # (must=, should=, must_not=): a nested filter

    def filter(self, cond: Conditions | None) -> Any | None:
        """The backend filter for ``cond``; None when it is empty (every point passes)."""
        if cond is None or cond.is_empty():
            return None
        must = [self.match_any(key, list(values)) for key, values in cond.match_any.items()]
        must += [self.within(key, low, high) for key, (low, high) in cond.ranges.items()]
        if cond.either:
            must.append(self.group(should=[self.filter(c) for c in cond.either]))
        # A song is found by its name when the title or the artist has the word.
        must += [self.group(should=[self.has_word(key, w) for key in TEXT_FIELDS]) for w in cond.words]
        must += [self.is_empty(key) for key in cond.missing]
        must_not = [self.has_id(cond.exclude_ids)] if cond.exclude_ids else []
        must_not += [self.match_any(key, list(values)) for key, values in cond.exclude_any.items()]
        return self.group(must=must or None, must_not=must_not or None)
