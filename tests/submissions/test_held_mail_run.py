"""Held mail on a real `fieldcat serve`, its replies read from a real SMTP relay (aiosmtpd):
mail from a registered address without the personal one is held and its owner is mailed a
signed, single-use, expiring link that files it only for that user signed in; staff release
or discard held mail (audited, the sender told); a PI's watched-folder subfolder drops files
the PI owns; size, attachment-count and MIME-bomb caps answer with a reply."""

from __future__ import annotations

import re
import smtplib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from catalog.db import make_engine, make_session_factory
from catalog.intake_models import HeldMail
from catalog.models import AuditEvent
from tests.polling import eventually
from tests.submissions.mail_node import (
    PI_MAIL,
    Served,
    owner_of,
    replied,
    send,
    serve_mail_node,
    versions_of,
    with_did,
)
from web.settings import Settings

LINK = re.compile(r"(http://\S+/mail/confirm/[A-Za-z0-9_-]+\?\S+)")
STRANGER = "someone@elsewhere.example"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_mail_node(tmp_path_factory)


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    return payload.decode() if isinstance(payload, bytes) else str(message.get_payload())


def confirmation_link(served: Served, subject: str) -> str:
    """The link of the confirmation mail about `subject` that reached the PI."""

    def found() -> str | None:
        for message in served.inbox.to(PI_MAIL):
            text = body_of(message)
            if "confirm" in str(message["Subject"]) and subject in text:
                return LINK.search(text).group(1)  # type: ignore[union-attr]
        return None

    return eventually(found)


def held_id_of(link: str) -> str:
    return urlsplit(link).path.rsplit("/", 1)[1]


def confirm_body(link: str) -> dict[str, object]:
    query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    return {"user": int(query["u"]), "expires": query["e"], "signature": query["s"]}


@contextmanager
def browser(served: Served, username: str) -> Iterator[httpx.Client]:
    """A signed-in browser session (cookie and CSRF), as a person following a link."""
    with httpx.Client(base_url=served.url, timeout=30, follow_redirects=False) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text)
        assert token
        signed = client.post(
            "/signin",
            data={"username": username, "password": "pw-pw-pw-pw", "csrf_token": token.group(1)},
        )
        assert signed.status_code == 303, signed.text
        yield client


def audit_actions(served: Served) -> list[tuple[str, str]]:
    engine = make_engine(Settings(root=served.root).effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.execute(select(AuditEvent.action, AuditEvent.reason)).all()
            return [(a, r) for a, r in rows]
    finally:
        engine.dispose()


def held_state(served: Served, held_id: str) -> str:
    engine = make_engine(Settings(root=served.root).effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            state = session.scalar(select(HeldMail.state).where(HeldMail.public_id == held_id))
            return str(state)
    finally:
        engine.dispose()


def test_a_forged_from_adds_nothing_until_the_owner_confirms_by_the_signed_link(
    served: Served,
) -> None:
    # The forger writes as the PI, to the plain intake address: held, and the confirmation
    # goes to the PI's registered address (which the forger does not read).
    send(served, "intake@joss.example", "data",
         files=(("cf.txt", with_did("kco_surface_hourly.txt", 9301)),), sender=PI_MAIL)  # fmt: skip
    link = confirmation_link(served, "data")
    held_id = held_id_of(link)
    assert not any("confirm" in str(m["Subject"]) for m in served.inbox.messages
                   if m["To"] != PI_MAIL)  # fmt: skip
    time.sleep(1.0)
    assert versions_of(served, "9301") == 0  # nothing without the confirmation

    # The link alone does nothing: it asks to sign in; another user may not use it.
    assert httpx.get(link).status_code in (302, 303, 307, 401)
    other = served.api("POST", f"/mail/held/{held_id}/confirm", "pi2", json=confirm_body(link))
    assert other.status_code == 403
    forged = confirm_body(link) | {"signature": "0" * 64}
    assert served.api("POST", f"/mail/held/{held_id}/confirm", "pi", json=forged).status_code == 403
    body = confirm_body(link)
    longer = body | {"expires": str(int(str(body["expires"])) + 3600)}  # an altered expiry
    assert served.api("POST", f"/mail/held/{held_id}/confirm", "pi", json=longer).status_code == 403
    assert versions_of(served, "9301") == 0

    # The PI follows it in a browser, signed in: the page names the message, the button files it.
    with browser(served, "pi") as pi:
        page = pi.get(link)
        assert page.status_code == 200 and "I sent it" in page.text
        form = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        done = pi.post(f"/mail/confirm/{held_id}", data=form | {"csrf_token": token.group(1)})
        assert done.status_code == 200 and "Your message was taken" in done.text, done.text
    assert versions_of(served, "9301") == 1 and owner_of(served, "9301") == served.user_ids["pi"]
    eventually(lambda: replied(served, "cf.txt: registered"))
    again = served.api("POST", f"/mail/held/{held_id}/confirm", "pi", json=confirm_body(link))
    assert again.status_code == 409  # single use
    assert ("mail.confirm", "confirmed by the sender's signed link") in audit_actions(served)


def test_an_expired_link_is_refused_and_racing_confirmations_file_once(served: Served) -> None:
    send(served, "intake@joss.example", "report 990310.INDOEX-daily", "race day",
         sender=PI_MAIL)  # fmt: skip
    link = confirmation_link(served, "report 990310.INDOEX-daily")
    held_id = held_id_of(link)
    body = confirm_body(link)

    def confirm(_: int) -> int:
        answer = served.api("POST", f"/mail/held/{held_id}/confirm", "pi", json=body)
        if answer.status_code == 503:
            assert "retry-after" in answer.headers
        return answer.status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(confirm, range(8)))
    assert codes.count(200) == 1 and set(codes) <= {200, 409, 503}, codes
    reports = served.api("GET", "/reports").json()["items"]
    assert [r["body"] for r in reports].count("race day") == 1

    # An expired link: signed with the center's key like a real one, its expiry past.
    from catalog.cursors import load_or_create_key
    from catalog.held_mail import sign_confirmation

    send(served, "intake@joss.example", "report 990311.INDOEX-daily", "late", sender=PI_MAIL)
    held = held_id_of(confirmation_link(served, "report 990311.INDOEX-daily"))
    key = load_or_create_key(served.root)
    past = sign_confirmation(key, held, served.user_ids["pi"], datetime.now(UTC) - timedelta(1))
    expired = {"user": past.user_id, "expires": str(past.expires), "signature": past.signature}
    answer = served.api("POST", f"/mail/held/{held}/confirm", "pi", json=expired)
    assert answer.status_code == 409 and "expired" in answer.text
    assert held_state(served, held) == "held"


def test_staff_release_and_discard_held_mail_audited_and_the_sender_told(
    served: Served,
) -> None:
    send(served, "intake@joss.example", "report 990312.INDOEX-status", "radar down",
         sender=STRANGER)  # fmt: skip
    send(served, "intake@joss.example", "buy now", "spam", sender=STRANGER)

    def held() -> dict[str, str] | None:
        items = served.api("GET", "/mail/held", "staff").json()["items"]
        found = {i["subject"]: i["id"] for i in items if i["sender"] == STRANGER}
        return found if len(found) >= 2 else None

    ids = eventually(held)
    assert not any(m["To"] == STRANGER for m in served.inbox.messages)  # unknown: no reply
    release, discard = ids["report 990312.INDOEX-status"], ids["buy now"]
    assert served.api("POST", f"/mail/held/{release}/release", "pi",
                      json={"username": "pi2"}).status_code == 403  # fmt: skip
    assert served.api("POST", f"/mail/held/{release}/release",
                      json={"username": "pi2"}).status_code == 401  # fmt: skip
    answer = served.api("POST", f"/mail/held/{release}/release", "staff",
                        json={"username": "pi2", "reason": "pi2 phoned: it is theirs"})  # fmt: skip
    assert answer.status_code == 200 and answer.json()["action"] == "report", answer.text
    reports = served.api("GET", "/reports").json()["items"]
    assert any(r["body"] == "radar down" for r in reports)
    eventually(lambda: served.inbox.to("pi2@joss.example") or None)  # the receipt, to pi2

    def discard_released(_: int) -> int:  # racing staff: a decided message stays decided
        return served.api("POST", f"/mail/held/{release}/discard", "staff",
                          json={"reason": "twice"}).status_code  # fmt: skip

    with ThreadPoolExecutor(6) as pool:
        assert set(pool.map(discard_released, range(6))) <= {409, 503}

    # Discarding from the staff page: with the reason, which the sender is told.
    with browser(served, "staff") as staff:
        page = staff.get("/staff/mail")
        assert page.status_code == 200 and f"/staff/mail/{discard}/discard" in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        empty = staff.post(f"/staff/mail/{discard}/discard",
                           data={"reason": "", "csrf_token": token.group(1)})  # fmt: skip
        assert empty.status_code == 400 and "reason" in empty.text
        reason = {"reason": "not campaign mail", "csrf_token": token.group(1)}
        done = staff.post(f"/staff/mail/{discard}/discard", data=reason)
        assert done.status_code == 303
    told = eventually(lambda: served.inbox.to(STRANGER) or None)
    assert "not campaign mail" in body_of(told[0])
    states = {
        state: {i["id"] for i in served.api("GET", "/mail/held", "staff",
                                            params={"state": state}).json()["items"]}
        for state in ("held", "released", "discarded")
    }  # fmt: skip
    assert release in states["released"] and discard in states["discarded"]
    assert not {release, discard} & states["held"]
    actions = audit_actions(served)
    assert ("mail.release", "pi2 phoned: it is theirs") in actions
    assert ("mail.discard", "not campaign mail") in actions
    assert (served.root / "mail" / "held" / f"{discard}.eml").exists()  # kept, never deleted


def test_held_mail_past_retention_is_listed_and_flagged_not_deleted(served: Served) -> None:
    send(served, "intake@joss.example", "old news", "x", sender=STRANGER)
    item = eventually(
        lambda: next((i for i in served.api("GET", "/mail/held", "staff").json()["items"]
                      if i["subject"] == "old news"), None)
    )  # fmt: skip
    assert item["past_retention"] is False
    engine = make_engine(Settings(root=served.root).effective_database_url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            session.execute(
                update(HeldMail).where(HeldMail.public_id == item["id"])
                .values(received_at=datetime.now(UTC) - timedelta(days=45))
            )  # fmt: skip
    finally:
        engine.dispose()
    items = {i["id"]: i for i in served.api("GET", "/mail/held", "staff").json()["items"]}
    assert items[item["id"]]["past_retention"] is True
    page = httpx.get(served.url + "/staff/mail", headers=served.headers["staff"]).text
    assert "past retention" in page


def drop_into(folder: Path, name: str, content: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{name}.part"
    temp.write_bytes(content)
    temp.rename(folder / name)


def test_a_pis_watched_subfolder_drops_files_the_pi_owns_until_revoked(served: Served) -> None:
    made = served.api("POST", "/me/drop-address", "pi2").json()
    token = made["token"]
    assert made["watch_folder"] == f"incoming/{token}/"
    incoming = served.root / "incoming"
    drop_into(incoming / token, "wf.txt", with_did("sagar_kanya_sounding.txt", 9311))
    eventually(lambda: versions_of(served, "9311") == 1)
    assert owner_of(served, "9311") == served.user_ids["pi2"]
    page = httpx.get(served.url + "/submissions", headers=served.headers["pi2"])
    assert page.status_code == 200 and "wf.txt" in page.text
    assert "wf.txt" not in httpx.get(served.url + "/submissions", headers=served.headers["pi"]).text
    assert served.api("DELETE", "/me/drop-address", "pi2").status_code == 204
    drop_into(incoming / token, "late.txt", with_did("sagar_kanya_sounding.txt", 9312))
    report = served.root / "rejected" / "late.txt.report.txt"
    eventually(lambda: report.exists())
    assert "SUB011" in report.read_text() and versions_of(served, "9312") == 0
    assert not (incoming / token / "late.txt").exists()


def nested(depth: int) -> EmailMessage:
    message = EmailMessage()
    message.set_content("deep")
    for _ in range(depth):
        outer = EmailMessage()
        outer.make_mixed()
        outer.attach(message)
        message = outer
    return message


def send_raw(served: Served, to: str, message: EmailMessage) -> None:
    message["From"], message["To"] = PI_MAIL, to
    with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=30) as smtp:
        smtp.send_message(message)


@pytest.fixture(scope="module")
def address(served: Served) -> str:
    return str(served.api("POST", "/me/drop-address", "pi").json()["email"])


def test_mime_bombs_and_too_many_attachments_get_a_reply_oversize_a_552(
    served: Served, address: str
) -> None:
    many = EmailMessage()
    many["Subject"] = "data"
    many.set_content("parts")
    for i in range(14):
        many.add_attachment(f"part {i}", subtype="plain")  # no file name: parts, not files
    send_raw(served, address, many)
    eventually(lambda: replied(served, "more than 12 MIME parts"))
    deep = nested(5)
    deep["Subject"] = "data"
    send_raw(served, address, deep)
    eventually(lambda: replied(served, "nests parts more than 3 deep"))
    send(served, address, "data", files=tuple((f"a{i}.txt", b"x") for i in range(4)))
    eventually(lambda: replied(served, "more than 3 attachments"))
    with pytest.raises(smtplib.SMTPException) as refused:
        send(served, address, "data", files=(("big.txt", b"0" * (3 << 20)),))
    assert getattr(refused.value, "smtp_code", None) == 552
