"""The staff page of receivers: what the supervisor saw, and start/stop/restart buttons that
record staff's wish (audited) for the worker; the federation page lists live streams."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from catalog.models import AuditEvent
from catalog.receiver_control import Seen, save_seen, wishes
from catalog.schemas import Role
from tests.archive_center.conftest import Node
from tests.ui.test_staff_pages import csrf_of, signed_in

SEEN_AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def _seed_status(node: Node) -> None:
    with node.app.state.session_factory() as session, session.begin():
        save_seen(session, [
            Seen("kco-met", "serial", "running", 3, "serial /dev/ttyUSB0; 812 lines", SEEN_AT,
                 SEEN_AT),
            Seen("ftp", "ftp", "running", 0, "ftp 127.0.0.1:2121", SEEN_AT, SEEN_AT),
        ])  # fmt: skip


def test_staff_see_receivers_and_stop_one_audited(node: Node) -> None:
    _seed_status(node)
    client = signed_in(node, "staff_streams", Role.STAFF)
    page = client.get("/staff/streams")
    assert page.status_code == 200
    assert "kco-met" in page.text and "/dev/ttyUSB0" in page.text and ">3<" in page.text
    r = client.post(
        "/staff/streams/kco-met", data={"action": "stop", "csrf_token": csrf_of(page.text)}
    )
    assert r.status_code == 303 and r.headers["location"] == "/staff/streams"
    with node.app.state.session_factory() as session:
        assert wishes(session)["kco-met"].desired == "stopped"
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None
        assert (event.action, event.actor) == ("receiver.stop", "staff_streams")
    assert ">stopped<" in client.get("/staff/streams").text


def test_unknown_receivers_and_actions_are_refused(node: Node) -> None:
    _seed_status(node)
    client = signed_in(node, "staff_streams2", Role.STAFF)
    token = csrf_of(client.get("/staff/streams").text)
    missing = client.post("/staff/streams/nope", data={"action": "stop", "csrf_token": token})
    assert missing.status_code == 404
    bad = client.post("/staff/streams/ftp", data={"action": "explode", "csrf_token": token})
    assert bad.status_code == 400


def test_a_pi_may_not_run_receivers(node: Node) -> None:
    client = signed_in(node, "pi_streams", Role.PI)
    assert client.get("/staff/streams").status_code == 403


def test_the_federation_page_lists_live_streams_without_their_addresses(node: Node) -> None:
    _seed_status(node)
    page = node.client.get("/federation").text
    assert "Live streams of" in page and "kco-met" in page
    assert "/dev/ttyUSB0" not in page and "ftp 127.0.0.1" not in page


def test_many_staff_clicks_at_once_are_each_recorded(node: Node) -> None:
    from concurrent.futures import ThreadPoolExecutor

    _seed_status(node)
    client = signed_in(node, "staff_streams3", Role.STAFF)
    token = csrf_of(client.get("/staff/streams").text)
    with node.app.state.session_factory() as session:
        before = len(list(session.scalars(select(AuditEvent.id))))
    actions = ["restart"] * 12 + ["start"] * 4

    def click(action: str) -> int:
        data = {"action": action, "csrf_token": token}
        return client.post("/staff/streams/ftp", data=data).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(click, actions))
    assert set(codes) <= {303, 503} and codes.count(303) >= 8
    with node.app.state.session_factory() as session:
        events = len(list(session.scalars(select(AuditEvent.id)))) - before
        wish = wishes(session)["ftp"]
    assert events == codes.count(303), "one audit event a recorded click"
    restarts = sum(1 for a, c in zip(actions, codes, strict=True) if a == "restart" and c == 303)
    assert wish.desired == "running" and wish.restart_seq == restarts
