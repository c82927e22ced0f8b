"""Status-report forms: each has its own password; a grant, revoked on change, rate limited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from starlette.requests import Request

from catalog.errors import InvalidCredentialsError, RateLimitedError
from catalog.grants import holds_form_grant, set_form_password
from tests.access.conftest import NOW
from tests.archive_center.conftest import Node
from web.auth import holds_form_access
from web.auth_service import exchange_form_password
from web.settings import AccessSettings


def _request_with(holder: str) -> Request:
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"",
             "headers": [(b"x-fieldcat-grant", holder.encode())]}  # fmt: skip
    return Request(scope)


def test_form_password_grant_revoked_on_change_and_rate_limited(node: Node) -> None:
    factory = node.app.state.session_factory
    access = AccessSettings(password_attempts=3)
    with factory() as session, session.begin():
        set_form_password(session, "male-ops", "ops form secret", NOW)
        set_form_password(session, "goa-lidar", "lidar form secret", NOW)

    def exchange(key: str, password: str, client: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
        return exchange_form_password(
            factory, key, password, client=client, holder=None, now=NOW, access=access
        )

    with pytest.raises(InvalidCredentialsError):
        exchange("male-ops", "lidar form secret")  # another form's password opens nothing
    grant = exchange("male-ops", "ops form secret")
    with factory() as session:
        assert holds_form_access(_request_with(grant.holder), session, "male-ops", NOW)
        assert not holds_form_grant(session, grant.holder, "goa-lidar", NOW)
        assert not holds_form_grant(session, grant.holder, "male-ops", NOW + timedelta(hours=1))
    with factory() as session, session.begin():
        set_form_password(session, "male-ops", "a new ops secret", NOW)
    with factory() as session:
        assert not holds_form_grant(session, grant.holder, "male-ops", NOW)
    for _ in range(access.password_attempts):
        with pytest.raises(InvalidCredentialsError):
            exchange("male-ops", "wrong", client="10.0.0.2")
    with pytest.raises(RateLimitedError):
        exchange("male-ops", "a new ops secret", client="10.0.0.2")
    exchange("male-ops", "a new ops secret", client="10.0.0.3")
