"""The SQL statements an engine runs while a block runs (tests that count or inspect the
statements a search, a page or a tick issues)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


@contextmanager
def recorded_statements(bind: Any) -> Iterator[list[str]]:
    """A list that holds, in order, every statement `bind` (an engine or a connection) runs
    until the block ends."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(bind, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(bind, "before_cursor_execute", record)
