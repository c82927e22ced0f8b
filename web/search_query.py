"""The search's parameters, declared once: the fields of `catalog.schemas.SearchParams`.

`GET /api/v1/datasets` takes exactly these names in its query string (anything else is a
400), the search page's form uses them (the box as four edge fields), and `fieldcat search`
builds its query from a `SearchParams` through `search_query`, so the three cannot drift.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from catalog.schemas import SearchParams

SEARCH_QUERY: tuple[str, ...] = tuple(SearchParams.model_fields)
"""Every query parameter of a search, in the model's order."""
TEXT_FILTERS: tuple[str, ...] = tuple(
    name
    for name, info in SearchParams.model_fields.items()
    if info.annotation == (str | None) and name != "cursor"
)
"""The free-text and facet filters (plain strings: q, platform, instrument, ...)."""


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return ",".join(f"{edge:g}" for edge in value)
    return str(value)


def search_query(params: SearchParams) -> dict[str, str]:
    """`params` as the API's query string: the parameters that differ from their defaults."""
    given = params.model_dump(exclude_defaults=True)
    return {name: _text(value) for name, value in given.items() if value is not None}
