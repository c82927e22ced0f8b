"""Web toolkit fixtures: the seeded node of the API tests is reused."""

from __future__ import annotations

from tests.archive_center.conftest import database_url, node

__all__ = ["database_url", "node"]
