"""CIDS fixtures: the catalog's clean database per backend, an archive store, `submit`."""

from __future__ import annotations

from tests.catalog.conftest import db, engine, session_factory  # noqa: F401
from tests.submissions.conftest import store, submit  # noqa: F401
