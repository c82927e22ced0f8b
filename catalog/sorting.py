"""The orders a search can be sorted in: light on purpose (no SQLAlchemy), so the `fieldcat`
command can name them in its help without importing the catalog."""

from __future__ import annotations

from typing import Literal, get_args

SortKey = Literal["relevance", "-start", "start", "title", "pi", "platform", "updated"]
"""`relevance` is the default when the query has words (`catalog.search`)."""
SORT_KEYS: tuple[str, ...] = get_args(SortKey)
