"""A real `fieldcat serve` with the e-mail intake and the FTP drop on: mail sent with smtplib
files a report, products and a data file for the user its secret address names, and the reply
reaches a second real SMTP server (the relay); unknown senders and forged From lines are held,
adding nothing; a PI's personal FTP login drops files the PI owns and sees."""

from __future__ import annotations

import ftplib
import smtplib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.polling import eventually
from tests.submissions.mail_node import (
    PI_MAIL,
    Served,
    ftp_put,
    owner_of,
    png_bytes,
    replied,
    send,
    serve_mail_node,
    versions_of,
    with_did,
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_mail_node(tmp_path_factory)


@pytest.fixture(scope="module")
def address(served: Served) -> str:
    made = served.api("POST", "/me/drop-address", "pi")
    assert made.status_code == 200, made.text
    assert made.headers["cache-control"] == "no-store"
    return str(made.json()["email"])


def test_a_report_by_mail_is_filed_and_the_receipt_reaches_the_relay(
    served: Served, address: str
) -> None:
    assert address.startswith("intake+") and address.endswith("@joss.example")
    send(served, address, "report 990307.INDOEX-daily", "C-130 RF07 to 8S; Citation at Male.")
    title = "INDOEX daily summary 1999-03-07"

    def filed() -> dict[str, Any] | None:
        items = served.api("GET", "/reports").json()["items"]
        return next((r for r in items if r["title"] == title), None)

    report = eventually(filed)
    assert report["body"] == "C-130 RF07 to 8S; Citation at Male." and report["center"] == "JOSS"
    reply = eventually(lambda: served.inbox.to(PI_MAIL) or None)
    assert any(report["public_id"] in m.get_payload() for m in reply)  # type: ignore[operator]


def test_products_and_data_by_mail_belong_to_the_pi(served: Served, address: str) -> None:
    send(served, address, "product 9903070400.flight-track", files=(("c130.png", png_bytes()),))
    wanted = "c130.9903070400.flight_track.png"

    def listed() -> dict[str, Any] | None:
        items = served.api("GET", "/products", params={"source": "c130"}).json()["items"]
        return next((p for p in items if p["filename"] == wanted), None)

    product = eventually(listed)
    assert httpx.get(served.url + product["links"]["file"]).content == png_bytes()
    send(served, address, "data", files=(("kco.txt", with_did("kco_surface_hourly.txt", 9161)),))
    eventually(lambda: versions_of(served, "9161") == 1)
    assert owner_of(served, "9161") == served.user_ids["pi"]
    mine = served.api("GET", "/submissions", "pi").json()["items"]
    assert any(s["original_name"] == "kco.txt" and s["state"] == "registered" for s in mine)
    eventually(lambda: replied(served, "kco.txt: registered"))


def test_unknown_and_forged_senders_are_held_and_add_nothing(served: Served, address: str) -> None:
    send(served, address, "data", files=(("sk.txt", with_did("sagar_kanya_sounding.txt", 9171)),))
    eventually(lambda: versions_of(served, "9171") == 1)
    forged = with_did("sagar_kanya_sounding.txt", 9171).replace(
        b"DATA VERSION = 1.0", b"DATA VERSION = 2.0"
    )  # a next version the PI's own address would add (checked below)
    # the PI's From line without the secret address, then a guessed token
    send(served, "intake@joss.example", "data", files=(("sk.txt", forged),), sender=PI_MAIL)
    send(served, "intake+0123456789abcdef01234567@joss.example", "data",
         files=(("sk.txt", forged),), sender=PI_MAIL)  # fmt: skip
    held = eventually(
        lambda: (
            (items := served.api("GET", "/mail/held", "staff").json()["items"])
            and len(items) >= 2
            and items
        )
    )
    assert {h["recipient"] for h in held} >= {
        "intake@joss.example", "intake+0123456789abcdef01234567@joss.example"
    }  # fmt: skip
    assert all(h["sender"] == PI_MAIL for h in held)
    page = httpx.get(served.url + "/staff/mail", headers=served.headers["staff"])
    assert page.status_code == 200 and "intake+0123456789abcdef01234567@joss.example" in page.text
    time.sleep(1.0)  # a wrongly filed version would have registered by now
    assert versions_of(served, "9171") == 1
    assert served.api("GET", "/mail/held", "pi").status_code == 403
    assert served.api("GET", "/mail/held").status_code == 401
    send(served, address, "data", files=(("sk.txt", forged),))  # the same file, attributed
    eventually(lambda: versions_of(served, "9171") == 2)


def test_revoked_address_is_held_and_new_one_works(served: Served) -> None:
    first = served.api("POST", "/me/drop-address", "pi2").json()["email"]
    assert served.api("DELETE", "/me/drop-address", "pi2").status_code == 204
    send(served, first, "report 990308.INDOEX-status", "lidar down", sender="pi2@joss.example")
    eventually(
        lambda: any(h["recipient"] == first
                    for h in served.api("GET", "/mail/held", "staff").json()["items"])
    )  # fmt: skip


def test_too_many_attachments_and_oversize_mail_are_refused(served: Served, address: str) -> None:
    files = tuple((f"x{i}.txt", b"x") for i in range(5))
    send(served, address, "data", files=files)
    eventually(lambda: replied(served, "more than 3 attachments"))
    mine = served.api("GET", "/submissions", "pi").json()["items"]
    assert not any(s["original_name"].startswith("x0") for s in mine)
    with pytest.raises(smtplib.SMTPException):
        send(served, address, "data", files=(("big.txt", b"0" * (3 << 20)),))


def test_a_pis_ftp_drop_is_owned_by_the_pi_and_on_their_submissions_page(
    served: Served, address: str
) -> None:
    token = address.split("+", 1)[1].split("@", 1)[0]
    ftp_put(served, "rhb.txt", with_did("sagar_kanya_sounding.txt", 9181), "drop", token)
    eventually(lambda: versions_of(served, "9181") == 1)
    assert owner_of(served, "9181") == served.user_ids["pi"]
    page = httpx.get(served.url + "/submissions", headers=served.headers["pi"])
    assert page.status_code == 200 and "rhb.txt" in page.text
    other = httpx.get(served.url + "/submissions", headers=served.headers["pi2"])
    assert "rhb.txt" not in other.text
    ftp_put(served, "anon.txt", with_did("sagar_kanya_sounding.txt", 9182))  # anonymous
    eventually(lambda: versions_of(served, "9182") == 1)
    assert owner_of(served, "9182") is None
    with pytest.raises(ftplib.error_perm, match="530"):
        ftp_put(served, "x.txt", b"x", "drop", "0" * 24)
