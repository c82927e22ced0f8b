"""The e-mail intake's part of the submissions benchmark: from the end of an SMTP send to the
dataset being found by search (the issue's `email_to_search_p50_s`, goal under 2 s).

Not a script of its own: `bench/submissions.py` runs it and prints its figures and ratios in
its JSON line."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable
from email.message import EmailMessage

import httpx


def drop_address(root_url: str, token: str) -> str:
    """A PI's personal intake address, from the API (as the PI would ask for it)."""
    answer = httpx.post(f"{root_url}/api/v1/me/drop-address",
                        headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
    answer.raise_for_status()
    return str(answer.json()["email"])


def email_to_search(url: str, smtp_port: int, address: str, count: int,
                    make_file: Callable[[int], bytes]) -> list[float]:  # fmt: skip
    """Seconds from each message's accepted SMTP send to its dataset being found by search."""
    latencies = []
    with httpx.Client(timeout=30) as client:
        for i in range(-1, count):  # -1: an untimed warm-up
            did = 70_000 + i
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = "pi@bench", address, "data"
            message.set_content("bench")
            message.add_attachment(make_file(did), maintype="text", subtype="plain",
                                   filename=f"kco_{did}.txt")  # fmt: skip
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
                smtp.send_message(message)
            sent = time.perf_counter()
            while True:
                items = client.get(f"{url}/api/v1/datasets", params={"q": str(did)}).json()
                if any(item["did"] == str(did) for item in items["items"]):
                    break
                if time.perf_counter() - sent > 60:
                    raise RuntimeError(f"DID {did} sent by mail never appeared")
                time.sleep(0.01)
            if i >= 0:
                latencies.append(time.perf_counter() - sent)
    return latencies
