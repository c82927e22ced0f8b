"""`fieldcat validate` and `fieldcat convert` (filled in by the formats work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the format commands to the CLI."""
