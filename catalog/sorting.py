"""The orders a search can be sorted in: light on purpose (no SQLAlchemy), so the `fieldcat`
command can name them in its help without importing the catalog."""

from __future__ import annotations

from typing import Literal, get_args

SortKey = Literal["-start", "start", "title", "pi", "platform", "updated"]
SORT_KEYS: tuple[str, ...] = get_args(SortKey)
