"""Users, argon2id, API tokens, sign-in sessions, CSRF and role checks through the real app."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.requests import Request

from catalog.errors import ConflictError, InvalidQueryError
from catalog.models import ApiToken, User
from catalog.schemas import Role
from catalog.users import (
    authenticate,
    create_user,
    issue_api_token,
    principal_for_token,
    set_password,
)
from tests.access.conftest import NOW, PASSWORD, Callers
from tests.archive_center.conftest import Node
from web.auth import csrf_token
from web.deps import CsrfDep


def test_password_is_argon2id_and_authenticates(node: Node) -> None:
    with node.app.state.session_factory() as session, session.begin():
        user = create_user(session, username="Hash.Test", password=PASSWORD, role=Role.PI)
        assert user.username == "hash.test"
        assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
        assert authenticate(session, "HASH.test", PASSWORD) is user
        assert authenticate(session, "hash.test", PASSWORD + "x") is None
        assert authenticate(session, "nobody", PASSWORD) is None
        with pytest.raises(ConflictError):
            create_user(session, username="hash.test", password=PASSWORD, role=Role.PI)
        with pytest.raises(InvalidQueryError):
            create_user(session, username="short", password="short", role=Role.PI)
        with pytest.raises(InvalidQueryError):
            create_user(session, username="peer", password=PASSWORD, role=Role.PEER)
        session.rollback()


def test_token_is_stored_hashed_and_expires(node: Node) -> None:
    with node.app.state.session_factory() as session, session.begin():
        user = create_user(session, username="tok", password=PASSWORD, role=Role.STAFF)
        token = issue_api_token(session, user, name="t", now=NOW, expires_at=NOW + timedelta(1))
        stored = session.scalars(select(ApiToken.token_hash)).all()
        assert token not in stored
        principal = principal_for_token(session, token, NOW)
        assert principal is not None and principal.role is Role.STAFF
        assert principal_for_token(session, token, NOW + timedelta(days=2)) is None
        assert principal_for_token(session, token + "x", NOW) is None
        session.rollback()


def test_bearer_token_resolves_and_bad_token_is_401(node: Node, callers: Callers) -> None:
    me = node.client.get("/api/v1/auth/me", headers=callers.headers["staff"])
    assert me.status_code == 200 and me.json()["role"] == "staff"
    assert me.headers["cache-control"] == "no-store"
    bad = node.client.get("/api/v1/auth/me", headers={"Authorization": "Bearer fct_nope"})
    assert bad.status_code == 401
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "Bearer" in bad.headers["www-authenticate"]
    anon = node.client.get("/api/v1/auth/me")
    assert anon.json()["role"] == "anonymous"


def test_sign_in_sets_secure_session_cookie_and_sign_out_ends_it(
    node: Node, callers: Callers
) -> None:
    client = node.client
    wrong = client.post("/api/v1/auth/session", json={"username": "owner", "password": "nope"})
    assert wrong.status_code == 401
    ok = client.post("/api/v1/auth/session", json={"username": "owner", "password": PASSWORD})
    assert ok.status_code == 200, ok.text
    cookie = ok.headers["set-cookie"].lower()
    assert "fieldcat_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    csrf = ok.json()["csrf_token"]
    assert client.get("/api/v1/auth/me").json()["username"] == "owner"
    # A cookie-authenticated write without the CSRF token is refused ...
    refused = client.delete("/api/v1/auth/session")
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("csrf-failed")
    # ... and with it, the session ends on the server.
    done = client.delete("/api/v1/auth/session", headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200 and done.json()["role"] == "anonymous"
    client.cookies.clear()
    assert client.get("/api/v1/auth/me").json()["role"] == "anonymous"


def test_password_change_ends_sessions(node: Node, callers: Callers) -> None:
    client = node.client
    client.post("/api/v1/auth/session", json={"username": "other", "password": PASSWORD})
    assert client.get("/api/v1/auth/me").json()["username"] == "other"
    with node.app.state.session_factory() as session, session.begin():
        user = session.scalars(select(User).where(User.username == "other")).one()
        set_password(session, user, PASSWORD)
    assert client.get("/api/v1/auth/me").json()["role"] == "anonymous"
    client.cookies.clear()


def test_any_cookie_authenticated_write_needs_csrf(node: Node, callers: Callers) -> None:
    from tests.archive_center.conftest import OPEN_SAMPLES

    client = node.client
    signed = client.post("/api/v1/auth/session", json={"username": "admin", "password": PASSWORD})
    body = {"datasets": [node.ids[OPEN_SAMPLES[0]]]}
    refused = client.post("/api/v1/bundles", json=body)
    assert refused.status_code == 403 and refused.json()["type"].endswith("csrf-failed")
    token = {"X-CSRF-Token": signed.json()["csrf_token"]}
    assert client.post("/api/v1/bundles", json=body, headers=token).status_code == 200
    client.cookies.clear()
    assert client.post("/api/v1/bundles", json=body).status_code == 200  # anonymous: no cookie


def test_form_post_csrf_double_submit_before_sign_in(node: Node) -> None:
    router = APIRouter()

    @router.get("/form-test")
    def show(request: Request) -> dict[str, str]:
        return {"csrf": csrf_token(request)}

    @router.post("/form-test")
    def post(_: CsrfDep) -> dict[str, str]:
        return {"ok": "yes"}

    node.app.include_router(router)
    with TestClient(node.app) as client:
        shown = client.get("/form-test")
        assert "fieldcat_csrf=" in shown.headers["set-cookie"]
        token = shown.json()["csrf"]
        forged = client.post("/form-test", data={"csrf_token": "forged-value"})
        assert forged.status_code == 403, forged.text
        assert client.post("/form-test", data={"csrf_token": token}).status_code == 200
        client.cookies.clear()
        assert client.post("/form-test", data={"csrf_token": token}).status_code == 403
