"""One supervisor runs every receiver of a node (the FTP drop, the watched folders, the
streams, later e-mail): it starts those wanted, stops those staff stopped, restarts a
crashed one after a growing back-off, counts the restarts and writes what it sees.

What staff want comes from `catalog.receiver_control` (the CLI and the staff page write it,
in the database, so they reach the worker from any process); a receiver without a wish runs
if its configuration enables it. Every `poll_s` the supervisor checks each receiver's
`alive()`; a receiver that died is restarted after `backoff` (doubling up to `MAX_BACKOFF_S`,
back to the start once it has run `HEALTHY_S`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from catalog.receiver_control import Seen, Wish, save_seen, wishes
from submissions.receiver_base import Receiver

logger = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.2
MAX_BACKOFF_S = 30.0
HEALTHY_S = 60.0
WRITE_EVERY_S = 2.0


@dataclass
class _Slot:
    receiver: Receiver
    enabled: bool
    state: str = "stopped"
    restarts: int = 0
    backoff: float = FIRST_BACKOFF_S
    retry_at: float = 0.0
    started_at: datetime | None = None
    started_mono: float = 0.0
    restart_seq: int | None = None


class Supervisor:
    """Keeps a node's receivers in the state staff (or the configuration) want."""

    def __init__(
        self,
        receivers: list[tuple[Receiver, bool]],
        sessions: sessionmaker[Session] | None,
        poll_s: float = 0.2,
        healthy_s: float = HEALTHY_S,
    ) -> None:
        self.slots = {r.name: _Slot(r, enabled) for r, enabled in receivers}
        self.sessions = sessions
        self.poll_s, self.healthy_s = poll_s, healthy_s
        self._written = 0.0
        self._changed = True

    def desired(self, slot: _Slot, wish: Wish | None) -> str:
        """`running` or `stopped`: staff's wish, else the configuration."""
        if wish is not None:
            return wish.desired
        return "running" if slot.enabled else "stopped"

    def step(self, found: dict[str, Wish]) -> None:
        """One look at every receiver against the wishes `found`."""
        now = time.monotonic()
        for name, slot in self.slots.items():
            wish = found.get(name)
            desired = self.desired(slot, wish)
            seq = wish.restart_seq if wish else 0
            asked_restart = slot.restart_seq is not None and seq != slot.restart_seq
            slot.restart_seq = seq
            if desired == "stopped":
                if slot.state != "stopped":
                    self._stop(slot, "stopped by staff")
                continue
            if slot.state == "stopped" or (asked_restart and slot.state == "running"):
                if asked_restart:
                    self._stop(slot, "restart asked by staff")
                self._start(slot, now)
            elif slot.state == "running" and not slot.receiver.alive():
                self._crashed(slot, now)
            elif slot.state == "restarting" and now >= slot.retry_at:
                slot.receiver.stop()
                self._start(slot, now)
            elif slot.state == "running" and now - slot.started_mono > self.healthy_s:
                slot.backoff = FIRST_BACKOFF_S

    def _start(self, slot: _Slot, now: float) -> None:
        try:
            slot.receiver.start()
        except Exception:  # then it is not alive: the next step counts it and restarts it
            logger.exception("receiver %s could not start", slot.receiver.name)
        slot.state, slot.started_mono = "running", now
        slot.started_at = datetime.now(UTC)
        self._changed = True
        logger.info("receiver %s started", slot.receiver.name)

    def _stop(self, slot: _Slot, why: str) -> None:
        slot.receiver.stop()
        slot.state, slot.started_at = "stopped", None
        slot.backoff = FIRST_BACKOFF_S
        self._changed = True
        logger.info("receiver %s: %s", slot.receiver.name, why)

    def _crashed(self, slot: _Slot, now: float) -> None:
        slot.restarts += 1
        slot.state, slot.retry_at = "restarting", now + slot.backoff
        logger.error("receiver %s died (%s); restart %d in %.1fs", slot.receiver.name,
                     slot.receiver.detail(), slot.restarts, slot.backoff)  # fmt: skip
        slot.backoff = min(MAX_BACKOFF_S, slot.backoff * 2)
        self._changed = True

    def seen(self) -> list[Seen]:
        """What the supervisor sees of each receiver now."""
        at = datetime.now(UTC)
        return [
            Seen(name, slot.receiver.kind, slot.state, slot.restarts,
                 slot.receiver.detail()[:2000], slot.started_at, at)
            for name, slot in self.slots.items()
        ]  # fmt: skip

    def _read_wishes(self) -> dict[str, Wish]:
        if self.sessions is None:
            return {}
        with self.sessions() as session:
            return wishes(session)

    def _write(self) -> None:
        if self.sessions is None:
            return
        if not self._changed and time.monotonic() - self._written < WRITE_EVERY_S:
            return
        with self.sessions() as session, session.begin():
            save_seen(session, self.seen())
        self._written, self._changed = time.monotonic(), False

    def run(self, stop: threading.Event) -> None:
        """Supervise until `stop`, then stop every receiver."""
        try:
            while not stop.is_set():
                try:
                    self.step(self._read_wishes())
                    self._write()
                except Exception:  # the database may be away for a moment: try again
                    logger.exception("supervisor step failed")
                stop.wait(self.poll_s)
        finally:
            for slot in self.slots.values():
                if slot.state != "stopped":
                    self._stop(slot, "node stopping")
            try:
                self._changed = True
                self._write()
            except Exception:
                logger.exception("could not record the receivers' final state")
