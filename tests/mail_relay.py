"""The SMTP relay the mail tests run: a real aiosmtpd server whose handler keeps every message."""

from __future__ import annotations

from email import message_from_bytes
from email.message import Message
from typing import Any


class Inbox:
    """The relay's handler: every message it accepted, in order."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content))
        return "250 OK"

    def to(self, address: str, subject_part: str = "") -> list[Message]:
        """The messages to `address` whose subject contains `subject_part`."""
        return [
            m for m in self.messages if m["To"] == address and subject_part in (m["Subject"] or "")
        ]
