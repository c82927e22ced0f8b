"""A bound on the conversions one process takes on at once (read, subset, write on request).

Each conversion holds a whole data file in memory and, for NetCDF, waits its turn for the
process-wide HDF5 lock (`formats.netcdf.HDF5_LOCK`). At most `running` conversions work at
once (they are CPU-bound: more than the cores only adds memory and GIL contention), up to
`limit` are admitted (the others wait their turn), and past that a request is refused at
once with `BusyError` (HTTP 503 with `Retry-After`) instead of queueing without end, so a
flood of conversion requests costs neither memory nor every request thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from catalog.errors import BusyError

DEFAULT_MAX_CONVERSIONS: Final = 8
DEFAULT_RETRY_AFTER_S: Final = 2


def default_running() -> int:
    """Conversions working at once by default: one per core."""
    return max(1, os.cpu_count() or 1)


class ConversionGate:
    """At most `limit` conversions admitted and `running` working at once; one more than
    `limit` gets `BusyError`."""

    def __init__(
        self,
        limit: int = DEFAULT_MAX_CONVERSIONS,
        retry_after_s: int = DEFAULT_RETRY_AFTER_S,
        running: int | None = None,
    ) -> None:
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.running = running or default_running()
        self._lock = threading.Lock()
        self._active = 0
        self._turns = threading.BoundedSemaphore(self.running)

    @property
    def active(self) -> int:
        """Conversions inside the gate now."""
        return self._active

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Hold one of the `limit` places while the body runs, or raise `BusyError`."""
        with self._lock:
            if self._active >= self.limit:
                raise BusyError(
                    f"this center is already converting {self.limit} files; "
                    f"try again in {self.retry_after_s} s",
                    self.retry_after_s,
                )
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Be admitted (or `BusyError`), then wait for one of the `running` turns."""
        with self.admitted(), self._turns:
            yield


_GATE = ConversionGate()
"""The process's gate: conversions are bounded per process, whatever app serves them."""


def conversion_gate() -> ConversionGate:
    """The gate every conversion made on request passes."""
    return _GATE


def configure_conversions(limit: int, retry_after_s: int, running: int | None = None) -> None:
    """Set the process's bounds (called by the node at start, from its settings)."""
    with _GATE._lock:
        _GATE.limit = limit
        _GATE.retry_after_s = retry_after_s
        if running is not None and running != _GATE.running and _GATE.active == 0:
            _GATE.running = running
            _GATE._turns = threading.BoundedSemaphore(running)
