"""Turn the public ``Filters`` object into storage conditions (Qdrant payload filters)."""

from __future__ import annotations

import json

from pydantic import ValidationError

from services.common.contracts.search import Filters
from services.search.storage.base import Conditions


class FilterError(ValueError):
    """The filters are malformed; the message says how (the route answers 422 with it)."""


def parse_filters(raw: str | None) -> Filters | None:
    """Parse the ``filters`` form field of the image search: a JSON object or empty."""
    if raw is None or not raw.strip():
        return None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FilterError(f"filters is not valid JSON: {exc.msg} at position {exc.pos}") from None
    if data is None:
        return None
    try:
        return Filters.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'filters'}: {e['msg']}" for e in exc.errors())
        raise FilterError(f"invalid filters: {problems}") from None


def to_conditions(filters: Filters | None, exclude_ids: list[str] | None = None) -> Conditions:
    """Genres match any of the song's genres; year and feature ranges are inclusive."""
    cond = Conditions(exclude_ids=list(exclude_ids or []))
    if filters is None:
        return cond
    if filters.genres:
        cond.match_any["genres"] = list(filters.genres)
    if filters.sources:
        cond.match_any["source"] = list(filters.sources)
    if filters.year_min is not None or filters.year_max is not None:
        cond.ranges["year"] = (filters.year_min, filters.year_max)
    for name, bounds in (filters.features or {}).items():
        if bounds.min is not None or bounds.max is not None:
            cond.ranges[name] = (bounds.min, bounds.max)
    return cond
