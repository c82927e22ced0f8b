"""Saved searches notify once per new match and per lifted embargo: by e-mail through a real
SMTP relay (aiosmtpd) and by webhook to a real HTTP server, both on loopback."""

from __future__ import annotations

import hmac
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from fastapi.testclient import TestClient

from archive_center.app import create_app
from archive_center.saved_search_worker import deliver_webhooks
from catalog.outbox import MailRelay, send_due
from catalog.saved_searches import check_all, signature
from catalog.schemas import Role
from catalog.users import create_user, issue_api_token
from tests.archive_center.conftest import NOW, database_url, make_settings  # noqa: F401
from tests.conftest import SAMPLES
from tests.mail_relay import Inbox

BASE = "http://testserver"


@dataclass
class Hooks:
    """What the webhook receiver got: (signature header, body) per POST."""

    received: list[tuple[str, bytes]] = field(default_factory=list)
    url: str = ""
    fail_next: int = 0


def _hook_handler(hooks: Hooks) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if hooks.fail_next:
                hooks.fail_next -= 1
                self.send_response(503)
            else:
                hooks.received.append((self.headers.get("X-FieldCat-Signature", ""), body))
                self.send_response(204)
            self.end_headers()

    return Handler


@pytest.fixture(scope="module")
def relay() -> Iterator[tuple[MailRelay, Inbox]]:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield MailRelay(host="127.0.0.1", port=port, sender="joss@fieldcat.test"), inbox
    controller.stop()


@pytest.fixture(scope="module")
def hooks() -> Iterator[Hooks]:
    state = Hooks()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _hook_handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class Center:
    app: FastAPI
    client: TestClient
    token: dict[str, str]


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory, database_url: str | None) -> Iterator[Center]:  # noqa: F811
    settings = make_settings(tmp_path_factory.mktemp("saved"), database_url)
    app = create_app(settings)
    app.state.clock = lambda: NOW
    with TestClient(app) as client:
        with app.state.session_factory() as session, session.begin():
            user = create_user(
                session, username="ana", password="ana pass 123", role=Role.PI, now=NOW
            )
            token = issue_api_token(session, user, name="t", now=NOW)
        yield Center(app, client, {"Authorization": f"Bearer {token}"})


def _register(app: FastAPI, name: str, did: int, at: datetime, **access: Any) -> str:
    import formats
    from catalog.registration import register_datafile
    from formats.timeparse import CampaignTime

    campaign = CampaignTime(
        year=1999, start=datetime(1999, 1, 1, tzinfo=UTC), end=datetime(1999, 3, 31, tzinfo=UTC)
    )
    source = SAMPLES / "valid" / name
    text = (
        "\n".join(
            f"DID = {did}" if ln.upper().startswith("DID") else ln
            for ln in source.read_text().splitlines()
        )
        + "\n"
    )
    store = app.state.store
    staged = store.new_staging_path()
    staged.write_text(text)
    copy = staged.with_suffix(".read")
    shutil.copyfile(staged, copy)
    datafile = formats.read(copy, campaign=campaign, filename=name)
    sha256, path = store.put_original(staged)
    with app.state.session_factory() as session, session.begin():
        dataset = register_datafile(
            session,
            datafile=datafile,
            sha256=sha256,
            size=path.stat().st_size,
            original_name=name,
            center_code="JOSS",
            campaign_code="INDOEX",
            now=at,
            access_state=access.get("state", "open"),
            release_at=access.get("release_at"),
        )
        return str(dataset.public_id)


def _check(center: Center, at: datetime) -> int:
    return check_all(center.app.state.session_factory, at, BASE)


def test_saved_search_mails_once_per_new_match_and_lifted_embargo(
    center: Center, relay: tuple[MailRelay, Inbox]
) -> None:
    mail, inbox = relay
    inbox.messages.clear()  # the relay serves both databases' runs
    before = _register(center.app, "c130_rf07_track.txt", 9001, NOW - timedelta(days=1))
    saved = center.client.post(
        "/api/v1/saved-searches",
        headers=center.token,
        json={"name": "C-130", "query": {"platform": "C130"}, "email": "ana@example.org"},
    )
    assert saved.status_code == 201, saved.text
    assert _check(center, NOW + timedelta(minutes=1)) == 0, "a match from before is not new"
    release = NOW + timedelta(days=2)
    fresh = _register(center.app, "c130_rf07_track.txt", 9002, NOW + timedelta(hours=1))
    held = _register(
        center.app,
        "c130_rf07_track.txt",
        9003,
        NOW + timedelta(hours=1),
        state="embargoed",
        release_at=release,
    )
    _register(center.app, "kco_surface_hourly.txt", 9004, NOW + timedelta(hours=1))  # no match
    assert _check(center, NOW + timedelta(hours=2)) == 2
    assert _check(center, NOW + timedelta(hours=3)) == 0, "told once"
    assert send_due(center.app.state.engine, mail, NOW + timedelta(hours=3)) == 1
    assert len(inbox.messages) == 1
    body = inbox.messages[0].get_payload(decode=True).decode()
    assert inbox.messages[0]["To"] == "ana@example.org"
    assert fresh in body and held in body and before not in body
    assert _check(center, release + timedelta(minutes=1)) == 1, "the embargo ended"
    assert _check(center, release + timedelta(hours=1)) == 0
    send_due(center.app.state.engine, mail, release + timedelta(hours=1))
    assert len(inbox.messages) == 2
    second = inbox.messages[1].get_payload(decode=True).decode()
    assert held in second and "embargo lifted" in second and fresh not in second


def test_webhook_is_signed_retried_and_delivered_once(center: Center, hooks: Hooks) -> None:
    created = center.client.post(
        "/api/v1/saved-searches",
        headers=center.token,
        json={
            "name": "soundings",
            "query": {"platform": "Sagar Kanya"},
            "webhook_url": hooks.url,
            "follow_embargoes": False,
        },
    ).json()
    hooks.received.clear()  # the receiver serves both databases' runs
    secret = created["webhook_secret"]
    assert secret
    listed = center.client.get("/api/v1/saved-searches", headers=center.token).json()
    assert all(s["webhook_secret"] is None for s in listed), "the secret is shown once"
    sounding = _register(center.app, "sagar_kanya_sounding.txt", 9101, NOW + timedelta(hours=5))
    assert _check(center, NOW + timedelta(hours=6)) >= 1
    engine = center.app.state.engine
    settings = center.app.state.settings
    hooks.fail_next = 1
    assert deliver_webhooks(engine, settings, NOW + timedelta(hours=6)) == 0
    assert deliver_webhooks(engine, settings, NOW + timedelta(hours=6)) == 1
    assert deliver_webhooks(engine, settings, NOW + timedelta(hours=7)) == 0, "delivered once"
    assert len(hooks.received) == 1
    header, body = hooks.received[0]
    assert hmac.compare_digest(header, signature(secret, body))
    events = json.loads(body)["events"]
    assert [(e["event"], e["dataset"]) for e in events] == [("new", sounding)]


def test_saved_searches_are_their_owner_s(center: Center) -> None:
    assert center.client.get("/api/v1/saved-searches").status_code == 401
    bad = center.client.post(
        "/api/v1/saved-searches",
        headers=center.token,
        json={"query": {"colour": "red"}, "email": "a@b.org"},
    )
    assert bad.status_code == 400
    with center.app.state.session_factory() as session, session.begin():
        other = create_user(session, username="bo", password="bo pass 1234", role=Role.PI, now=NOW)
        token = {"Authorization": f"Bearer {issue_api_token(session, other, name='t', now=NOW)}"}
    mine = center.client.get("/api/v1/saved-searches", headers=center.token).json()
    assert center.client.get("/api/v1/saved-searches", headers=token).json() == []
    gone = center.client.delete(f"/api/v1/saved-searches/{mine[0]['id']}", headers=token)
    assert gone.status_code == 404
    deleted = center.client.delete(f"/api/v1/saved-searches/{mine[0]['id']}", headers=center.token)
    assert deleted.status_code == 204


def test_following_one_dataset_s_embargo(center: Center, relay: tuple[MailRelay, Inbox]) -> None:
    mail, inbox = relay
    inbox.messages.clear()
    release = NOW + timedelta(days=20)
    held = _register(center.app, "kco_surface_hourly.txt", 9201, NOW - timedelta(days=3),
                     state="embargoed", release_at=release)  # fmt: skip
    followed = center.client.post(
        "/api/v1/saved-searches", headers=center.token,
        json={"name": "KCO", "query": {"dataset": held}, "email": "ana@example.org"},
    )  # fmt: skip
    assert followed.status_code == 201, followed.text
    assert _check(center, release - timedelta(days=1)) == 0, "still embargoed, not new"
    assert _check(center, release + timedelta(minutes=5)) >= 1
    send_due(center.app.state.engine, mail, release + timedelta(minutes=5))
    bodies = [m.get_payload(decode=True).decode() for m in inbox.messages]
    assert any(held in b and "embargo lifted" in b for b in bodies)


def test_the_worker_step_tells_nothing_twice(center: Center) -> None:
    from archive_center.saved_search_worker import saved_search_step

    engine, settings = center.app.state.engine, center.app.state.settings
    saved_search_step(engine, settings)  # the real clock: whatever is due now is told
    assert saved_search_step(engine, settings) == 0
