"""Three real nodes: sign-in that travels, the campaign tier, named readers, access requests
and release notices, with a real SMTP relay (aiosmtpd) receiving the notices."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.conftest import SAMPLES
from tests.federation.cluster import Node, build_cluster, close_all, mesh, start_all
from tests.mail_relay import Inbox
from tests.polling import eventually

LIFETIME_S = 10
"""The vouched lifetime the nodes are configured with (short, so revocation is testable)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class World:
    nodes: dict[str, Node]
    inbox: Inbox
    ids: dict[str, str]
    tokens: dict[str, str]


def _user(node: Node, username: str, email: str, role: str = "pi") -> str:
    from catalog.schemas import Role
    from catalog.users import create_user, get_user, issue_api_token

    now = datetime.now(UTC)
    with node.session() as session, session.begin():
        try:
            user = get_user(session, username)
        except Exception:
            user = create_user(session, username=username, password="x" * 12, role=Role(role))
        user.email = email
        return issue_api_token(session, user, name="test", now=now)


def _seed(node: Node, sample: str, state: str, release_at: datetime) -> str:
    from archive_center.demo.seeding import seed_file
    from catalog.access import AccessState
    from catalog.access_admin import AccessRequest, change_access
    from catalog.db import make_session_factory
    from catalog.schemas import Principal, Role
    from catalog.storage import ArchiveStore

    settings, now = node.settings, datetime.now(UTC)
    factory = make_session_factory(node.engine)
    pid = seed_file(
        factory, ArchiveStore(settings.root), settings, SAMPLES / "valid" / sample,
        release_at=None, now=now,
    )  # fmt: skip
    assert pid is not None
    staff = Principal(username="seed", role=Role.STAFF)
    with factory() as session, session.begin():
        request = AccessRequest(state=AccessState(state), reason="test", release_at=release_at)
        change_access(session, pid, request, actor=staff, now=now)
    return pid


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    nodes = build_cluster(tmp_path_factory.mktemp("shared"), mesh())
    for node in nodes.values():
        with node.config.open("a", encoding="utf-8") as config:
            config.write(
                f"\n[access]\nvouched_lifetime_s = {LIFETIME_S}\n\n[mail]\n"
                f'relay_host = "127.0.0.1"\nrelay_port = {controller.port}\n'
                f'from_address = "{node.code.lower()}@fieldcat.test"\n'
            )
    try:
        start_all(nodes)
        year = datetime.now(UTC) + timedelta(days=365)
        ids = {
            "npl_campaign": _seed(nodes["NPL"], "sagar_kanya_sounding.txt", "campaign", year),
            "npl_embargoed": _seed(nodes["NPL"], "kco_surface_hourly.txt", "embargoed", year),
            "lmd_campaign": _seed(nodes["LMD"], "c130_rf07_track.txt", "campaign", year),
            "lmd_embargoed": _seed(nodes["LMD"], "seed_example.txt", "embargoed", year),
        }
        tokens = {
            "alice": _user(nodes["JOSS"], "alice", "alice@joss.test"),
            "bob": _user(nodes["JOSS"], "bob", "bob@joss.test"),
            "owner_npl": _user(nodes["NPL"], "pi-npl", "pi-npl@npl.test"),
        }
        yield World(nodes, inbox, ids, tokens)
    finally:
        close_all(nodes)
        controller.stop()


def _post(node: Node, path: str, body: dict[str, Any], token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(node.url + "/api/v1" + path, json=body, headers=headers, timeout=30)


def _data(node: Node, pid: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"{node.url}/api/v1/datasets/{pid}/data"
    response = httpx.get(url, params={"format": "original"}, headers=headers, timeout=30)
    return response.status_code


def assertion(world: World, user: str, audience: str) -> httpx.Response:
    return _post(world.nodes["JOSS"], "/auth/assertions", {"audience": audience},
                 world.tokens[user])  # fmt: skip


def vouched(world: World, user: str, at: str) -> str:
    made = assertion(world, user, at)
    assert made.status_code == 200, made.text
    session = _post(world.nodes[at], "/auth/vouched", {"assertion": made.json()["assertion"]})
    assert session.status_code == 200, session.text
    assert session.json()["center"] == "JOSS"
    return str(session.json()["token"])


def test_a_pi_of_one_center_reads_campaign_data_at_the_others_but_not_embargoed(
    world: World,
) -> None:
    for code in ("NPL", "LMD"):
        token = vouched(world, "alice", code)
        node, prefix = world.nodes[code], code.lower()
        assert _data(node, world.ids[f"{prefix}_campaign"], token) == 200
        assert _data(node, world.ids[f"{prefix}_embargoed"], token) == 403
        assert _data(node, world.ids[f"{prefix}_campaign"], None) == 403
        me = httpx.get(node.url + "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["role"] == "pi" and me.json()["username"] == "alice"
        staff_only = httpx.get(
            f"{node.url}/api/v1/datasets/{world.ids[f'{prefix}_embargoed']}/audit",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert staff_only.status_code == 401  # never staff there, not even a local user


def _tamper(token: str) -> str:
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


def test_forged_replayed_and_wrong_audience_assertions_are_refused(world: World) -> None:
    npl, lmd = world.nodes["NPL"], world.nodes["LMD"]
    for_npl = assertion(world, "alice", "NPL").json()["assertion"]
    assert _post(npl, "/auth/vouched", {"assertion": _tamper(for_npl)}).status_code == 401
    assert _post(lmd, "/auth/vouched", {"assertion": for_npl}).status_code == 401  # audience
    assert _post(npl, "/auth/vouched", {"assertion": for_npl}).status_code == 200
    assert _post(npl, "/auth/vouched", {"assertion": for_npl}).status_code == 401  # replay
    from joserfc import jwt
    from joserfc.jwk import OctKey

    claims = {"iss": "JOSS", "aud": "NPL", "sub": "alice", "iat": int(time.time()),
              "exp": int(time.time()) + 60, "jti": "x" * 32, "campaigns": ["INDOEX"]}  # fmt: skip
    kid = world.nodes["NPL"].peers["JOSS"][1]
    wrong_key = jwt.encode({"alg": "HS256", "kid": kid}, claims, OctKey.import_key("w" * 43))
    assert _post(npl, "/auth/vouched", {"assertion": wrong_key}).status_code == 401
    assert assertion(world, "alice", "NOWHERE").status_code == 404


def test_a_user_disabled_at_home_is_refused_at_the_peer_within_the_lifetime(world: World) -> None:
    from catalog.users import get_user, set_active

    carol = _user(world.nodes["JOSS"], "carol", "carol@joss.test")
    world.tokens["carol"] = carol
    token = vouched(world, "carol", "NPL")
    npl, pid = world.nodes["NPL"], world.ids["npl_campaign"]
    assert _data(npl, pid, token) == 200
    with world.nodes["JOSS"].session() as session, session.begin():
        set_active(session, get_user(session, "carol"), False)
    disabled_at = time.monotonic()
    assert assertion(world, "carol", "NPL").status_code == 401  # home vouches no more
    eventually(lambda: _data(npl, pid, token) == 401, timeout=LIFETIME_S + 5, every=0.2)
    assert time.monotonic() - disabled_at <= LIFETIME_S + 1.5


def test_a_peer_no_longer_trusted_ends_its_users_sessions_at_once(world: World) -> None:
    from federation.peers import set_enabled

    token = vouched(world, "alice", "LMD")
    lmd, pid = world.nodes["LMD"], world.ids["lmd_campaign"]
    assert _data(lmd, pid, token) == 200
    with lmd.session() as session, session.begin():
        set_enabled(session, "JOSS", False)
    try:
        assert _data(lmd, pid, token) == 401
    finally:
        with lmd.session() as session, session.begin():
            set_enabled(session, "JOSS", True)


def test_a_named_reader_reads_until_the_entry_expires(world: World) -> None:
    npl, pid = world.nodes["NPL"], world.ids["npl_embargoed"]
    token = vouched(world, "alice", "NPL")
    assert _data(npl, pid, token) == 403
    # Room for the grant and one read on a loaded machine, then a read just past the expiry.
    expires = datetime.now(UTC) + timedelta(seconds=5)
    put = httpx.put(
        f"{npl.url}/api/v1/datasets/{pid}/readers/JOSS/alice",
        json={"expires_at": expires.isoformat(), "reason": "collaboration"},
        headers={"Authorization": f"Bearer {world.tokens['owner_npl']}"},
    )
    assert put.status_code == 200, put.text
    assert _data(npl, pid, token) == 200
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds() + 0.2))
    assert _data(npl, pid, token) == 403


def test_an_approved_access_request_lets_the_requester_download_at_the_origin(
    world: World,
) -> None:
    npl, pid = world.nodes["NPL"], world.ids["npl_embargoed"]
    token = vouched(world, "bob", "NPL")
    asked = _post(npl, f"/datasets/{pid}/access-requests", {"reason": "aerosol closure"}, token)
    assert asked.status_code == 201, asked.text
    assert _data(npl, pid, token) == 403
    mine = httpx.get(
        npl.url + "/api/v1/access-requests", headers={"Authorization": f"Bearer {token}"}
    )
    assert [r["id"] for r in mine.json()] == [asked.json()["id"]]
    until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    ok = _post(npl, f"/access-requests/{asked.json()['id']}/approve",
               {"expires_at": until, "note": "welcome"}, world.tokens["owner_npl"])  # fmt: skip
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "approved"
    assert _data(npl, pid, token) == 200
    again = _post(
        npl, f"/access-requests/{asked.json()['id']}/decline", {}, world.tokens["owner_npl"]
    )
    assert again.status_code == 409
    eventually(lambda: world.inbox.to("pi-npl@npl.test", "Access request for"), timeout=20)
    eventually(lambda: world.inbox.to("bob@joss.test", "approved"), timeout=20)


def test_a_release_notice_goes_out_once_and_peers_show_the_release(world: World) -> None:
    npl = world.nodes["NPL"]
    soon = datetime.now(UTC) + timedelta(seconds=3)
    pid = _seed(npl, "c130_external_sampler.txt", "campaign", soon)
    token = vouched(world, "bob", "NPL")
    follow = httpx.put(f"{npl.url}/api/v1/datasets/{pid}/follow",
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert follow.status_code == 200, follow.text
    eventually(lambda: world.inbox.to("bob@joss.test", "Released"), timeout=30)
    joss = world.nodes["JOSS"]

    def shown_open() -> bool:  # the release travelled as a change: a newer origin version
        got, there = joss.get(f"/datasets/{pid}"), npl.get(f"/datasets/{pid}")
        released = got.status_code == 200 and got.json()["access_state"] == "open"
        return released and got.json()["origin_version"] == there.json()["origin_version"] >= 3

    eventually(shown_open, timeout=20)
    time.sleep(2.0)  # several worker passes later, still one notice
    assert len(world.inbox.to("bob@joss.test", "Released")) == 1
    from catalog.access_models import ReleaseNotice

    with npl.session() as session:
        notices = list(session.scalars(select(ReleaseNotice.kind)))
    assert notices.count("released") == 1


@pytest.mark.browser
def test_sign_in_at_your_home_center_in_a_browser(world: World) -> None:
    """Chromium: the peer's sign-in page links the home center; signing in there and pressing
    one button lands back at the peer, signed in, where campaign data download."""
    from tests.ui.browser import chromium, screenshot

    npl, pid = world.nodes["NPL"], world.ids["npl_campaign"]
    _user(world.nodes["JOSS"], "dana", "dana@joss.test")
    with world.nodes["JOSS"].session() as session, session.begin():
        from catalog.users import get_user, set_password

        set_password(session, get_user(session, "dana"), "dana-password-123")
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{npl.url}/signin?next=/datasets/{pid}")
        page.get_by_role("link", name="JOSS").click()  # the home center (named by its code)
        page.fill("#username", "dana")
        page.fill("#password", "dana-password-123")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Continue to NPL").click()
        page.wait_for_url(f"{npl.url}/datasets/{pid}")
        download = page.request.get(f"{npl.url}/datasets/{pid}/download?format=original")
        assert download.status == 200  # within the session's lifetime (LIFETIME_S)
        closed = page.request.get(
            f"{npl.url}/datasets/{world.ids['npl_embargoed']}/download?format=original"
        )
        assert closed.status == 403
        assert "dana" in page.locator("li.who").inner_text()
        assert "JOSS" in page.locator("li.who").inner_text()
        screenshot(page, "signed-in-at-home-center")


def _page_client(node: Node, username: str, password: str) -> httpx.Client:
    """A browser-like client signed in through the sign-in form."""
    import re

    client = httpx.Client(base_url=node.url, timeout=30)
    form = client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    signed = client.post("/signin", data={"csrf_token": token.group(1), "username": username,
                                           "password": password, "next": "/"})  # fmt: skip
    assert signed.status_code == 303, signed.text
    return client


def _csrf(html: str) -> str:
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_access_requests_through_the_pages(world: World) -> None:
    """A PI asks from the dataset page, the owner approves on the account page (with an
    expiry), and the PI downloads; the e-mail address is set on the account page."""
    import re

    from catalog.users import get_user, set_password

    npl, pid = world.nodes["NPL"], world.ids["npl_embargoed"]
    _user(npl, "erin", "")
    with npl.session() as session, session.begin():
        set_password(session, get_user(session, "erin"), "erin-password-123")
        set_password(session, get_user(session, "pi-npl"), "owner-password-123")
    with closing(_page_client(npl, "erin", "erin-password-123")) as erin:
        account = erin.get("/account")
        saved = erin.post("/account/email", data={"csrf_token": _csrf(account.text),
                                                  "email": "erin@npl.test"})  # fmt: skip
        assert saved.status_code == 303
        page = erin.get(f"/datasets/{pid}")
        assert "Ask for access" in page.text
        form = {"csrf_token": _csrf(page.text), "reason": "ozone budget"}
        asked = erin.post(f"/datasets/{pid}/ask-access", data=form)
        assert asked.status_code == 303, asked.text
        assert "pending" in erin.get("/account").text
        assert erin.get(f"/datasets/{pid}/download?format=original").status_code == 403
        with closing(_page_client(npl, "pi-npl", "owner-password-123")) as owner:
            mine = owner.get("/account").text
            assert "ozone budget" in mine
            action = re.findall(r'action="(/access-requests/\d+/decide)"', mine)
            decided = owner.post(action[-1], data={"csrf_token": _csrf(mine),
                                 "decision": "approve", "until": "2099-01-01"})  # fmt: skip
            assert decided.status_code == 303, decided.text
        assert erin.get(f"/datasets/{pid}/download?format=original").status_code == 200
    eventually(lambda: world.inbox.to("erin@npl.test", "approved"), timeout=20)


def test_staff_list_and_decline_pending_ownership_claims(world: World) -> None:
    from catalog.models import AuditEvent, Dataset

    npl = world.nodes["NPL"]
    pid = _seed(npl, "c130_rf07_track.txt", "open", datetime.now(UTC) + timedelta(days=1))
    with npl.session() as session, session.begin():  # as if it came by the FTP drop
        session.scalars(select(Dataset).where(Dataset.public_id == pid)).one().owner_user_id = None
    pi, staff = _user(npl, "frank", ""), _user(npl, "keeper", "", role="staff")
    claimed = _post(npl, f"/datasets/{pid}/claim", {"reason": "my flight"}, pi)
    assert claimed.status_code == 200, claimed.text
    listed = httpx.get(f"{npl.url}/api/v1/claims", headers={"Authorization": f"Bearer {staff}"})
    assert [(c["public_id"], c["claimant"]) for c in listed.json()] == [(pid, "frank")]
    denied = httpx.get(f"{npl.url}/api/v1/claims", headers={"Authorization": f"Bearer {pi}"})
    assert denied.status_code == 403
    body = {"username": "frank", "reason": "not the PI of record"}
    declined = _post(npl, f"/datasets/{pid}/claim/decline", body, staff)
    assert declined.status_code == 200, declined.text
    assert declined.json() == []
    assert _post(npl, f"/datasets/{pid}/claim/decline", body, staff).status_code == 404
    with npl.session() as session:
        actions = list(session.scalars(select(AuditEvent.action).join(Dataset).where(
            Dataset.public_id == pid)))  # fmt: skip
    assert "claim-requested" in actions and "claim-declined" in actions
