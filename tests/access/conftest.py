"""A seeded node per module (reused from the archive_center tests) plus users and tokens."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from catalog.schemas import Role
from catalog.users import create_user, issue_api_token
from tests.archive_center.conftest import NOW, Node, database_url, node  # noqa: F401

PASSWORD = "correct horse battery"


@dataclass
class Callers:
    """Bearer headers of one user per role (and another PI, who owns nothing)."""

    headers: dict[str, dict[str, str]]
    user_ids: dict[str, int]


@pytest.fixture(scope="module")
def callers(node: Node) -> Callers:  # noqa: F811
    """Users `owner` (pi), `other` (pi), `staff`, `admin`, each with an API token."""
    headers: dict[str, dict[str, str]] = {}
    ids: dict[str, int] = {}
    plan = {"owner": Role.PI, "other": Role.PI, "staff": Role.STAFF, "admin": Role.ADMIN}
    with node.app.state.session_factory() as session, session.begin():
        for name, role in plan.items():
            user = create_user(session, username=name, password=PASSWORD, role=role, now=NOW)
            token = issue_api_token(session, user, name="test", now=NOW)
            headers[name] = {"Authorization": f"Bearer {token}"}
            ids[name] = user.id
    return Callers(headers, ids)
