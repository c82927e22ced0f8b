"""The SMTP receiver of the e-mail intake (aiosmtpd), started by the worker like the FTP drop.

Each accepted message is written to `<root>/mail/spool/` and fsynced before the 250 reply,
then filed by `submissions.mail_intake.take_message` on a small thread pool (never on the
SMTP event loop); its spool file goes once filed. Spooled messages a crash left behind are
filed at start. The receiver accepts only the intake mailbox (`intake`, `intake+TOKEN`), one
recipient per message, and at most `max_message_bytes` (aiosmtpd answers 552 beyond).
"""

from __future__ import annotations

import logging
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from submissions.mail_intake import MailDesk, take_message

logger = logging.getLogger(__name__)
SEP = b"\n--fieldcat-envelope--\n"


@dataclass(frozen=True)
class MailReceiverConfig:
    """Where the receiver listens and what it accepts."""

    host: str = "127.0.0.1"
    port: int = 2525
    max_message_bytes: int = 25 * 1024**2
    workers: int = 2


class _Handler:
    """aiosmtpd handler: the intake mailbox only, one recipient, spooled before 250."""

    def __init__(self, receiver: MailReceiver) -> None:
        self.receiver = receiver

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        local = address.rpartition("@")[0].lower()
        if local.partition("+")[0] != self.receiver.desk.mailbox.lower():
            return "550 5.1.1 No such mailbox here"
        if envelope.rcpt_tos:
            return "452 4.5.3 One recipient per message"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or b""
        try:
            path = self.receiver.spool(str(envelope.mail_from or ""), envelope.rcpt_tos[0], raw)
        except OSError:
            logger.exception("could not spool a message")
            return "451 4.3.0 Could not keep the message; try again later"
        self.receiver.submit(path)
        return "250 2.0.0 Received; the reply comes by mail"


class MailReceiver:
    """The e-mail intake's SMTP server: `start()`, `stop()`, `health`."""

    def __init__(self, desk: MailDesk, config: MailReceiverConfig) -> None:
        self.desk, self.config = desk, config
        self.spool_dir = desk.store.root / "mail" / "spool"
        self._pool: ThreadPoolExecutor | None = None
        self._controller: Controller | None = None
        self.filed = 0
        self.failed = 0

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self.config.port

    @property
    def health(self) -> dict[str, Any]:
        """Whether it runs, where, and how many messages it filed or failed to."""
        running = self._controller is not None
        return {"running": running, "port": self.port if running else None,
                "filed": self.filed, "failed": self.failed}  # fmt: skip

    def spool(self, sender: str, recipient: str, raw: bytes) -> Path:
        """Keep a message durably until it is filed."""
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        path = self.spool_dir / f"{uuid.uuid4().hex}.msg"
        temp = path.with_suffix(".part")
        with temp.open("wb") as out:
            out.write(sender.encode("utf-8", "replace")[:320] + b"\n")
            out.write(recipient.encode("utf-8", "replace")[:320] + SEP)
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
        return path

    def submit(self, path: Path) -> None:
        """File a spooled message on the pool."""
        if self._pool is not None:
            self._pool.submit(self._file, path)

    def _file(self, path: Path) -> None:
        try:
            head, _, raw = path.read_bytes().partition(SEP)
            sender, _, recipient = head.decode("utf-8", "replace").partition("\n")
            outcome = take_message(self.desk, raw, sender, recipient)
            logger.info("mail from %r filed: %s", sender, outcome.action)
            path.unlink(missing_ok=True)
            self.filed += 1
        except Exception:
            self.failed += 1
            logger.exception("a spooled message could not be filed; kept at %s", path)

    def start(self) -> None:
        """Listen, and file what an earlier run left spooled."""
        self._pool = ThreadPoolExecutor(self.config.workers, thread_name_prefix="fieldcat-mail")
        self._controller = Controller(
            _Handler(self), hostname=self.config.host, port=self.config.port,
            data_size_limit=self.config.max_message_bytes, ready_timeout=10,
        )  # fmt: skip
        self._controller.start()
        if self.spool_dir.is_dir():
            for left in sorted(self.spool_dir.glob("*.msg")):
                self.submit(left)
        logger.info("e-mail intake listening on %s:%s", self.config.host, self.port)

    def stop(self) -> None:
        """Stop listening; let messages being filed finish."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
