"""What the worker's supervisor runs: a receiver is a small object with a name, `start`,
`stop` and a health answer (`alive`, `detail`). The FTP drop, the watched folders, the
streams and any later receiver (e-mail) implement it; docs/streams.md#supervision.

`ThreadReceiver` is the usual shape: one thread running `serve(stop)`; the thread ending
(an exception, a vanished device) is what the supervisor sees as a crash.
"""

from __future__ import annotations

import abc
import logging
import threading
from typing import Protocol

logger = logging.getLogger(__name__)


class Receiver(Protocol):
    """One supervised receiver."""

    name: str
    kind: str

    def start(self) -> None:
        """Start serving (returns at once; the work runs in the receiver's own threads)."""

    def stop(self) -> None:
        """Stop serving and wait for its threads (a few seconds at most)."""

    def alive(self) -> bool:
        """Whether it is serving; False after a crash or `stop`."""

    def detail(self) -> str:
        """One line for the status table: where it listens, what it last did or why it died."""


class ThreadReceiver(abc.ABC):
    """A receiver whose work is `serve(stop)` in one thread; subclasses fill `serve` and may
    override `interrupt` to unblock it (close a socket or a device)."""

    kind = "thread"

    def __init__(self, name: str) -> None:
        self.name = name
        self.error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @abc.abstractmethod
    def serve(self, stop: threading.Event) -> None:
        """Take lines or files until `stop` is set (runs in the receiver's thread)."""

    def interrupt(self) -> None:  # noqa: B027 - a deliberate default: most need nothing
        """Unblock `serve` so that it sees `stop` (nothing by default)."""

    def start(self) -> None:
        self._stop = threading.Event()
        self.error = ""
        self._thread = threading.Thread(target=self._run, name=f"fieldcat-{self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.serve(self._stop)
        except Exception as err:  # the crash the supervisor restarts after
            self.error = f"{type(err).__name__}: {err}"
            logger.exception("receiver %s crashed", self.name)

    def stop(self) -> None:
        self._stop.set()
        self.interrupt()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def detail(self) -> str:
        return self.error
