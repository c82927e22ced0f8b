"""The quality tests run on the seeded node of tests/archive_center (SQLite and PostgreSQL)."""

from tests.archive_center.conftest import database_url, node  # noqa: F401
