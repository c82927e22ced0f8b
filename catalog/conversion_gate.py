"""A bound on the conversions one process runs at once (read, subset, write on request).

Each conversion holds a whole data file in memory and, for NetCDF, waits its turn for the
process-wide HDF5 lock (`formats.netcdf.HDF5_LOCK`). Past the bound a request is refused at
once with `BusyError` (HTTP 503 with `Retry-After`) instead of queueing without end, so a
flood of conversion requests costs neither memory nor every request thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from catalog.errors import BusyError

DEFAULT_MAX_CONVERSIONS: Final = 8
DEFAULT_RETRY_AFTER_S: Final = 2


class ConversionGate:
    """At most `limit` conversions inside at once; one more gets `BusyError`."""

    def __init__(
        self, limit: int = DEFAULT_MAX_CONVERSIONS, retry_after_s: int = DEFAULT_RETRY_AFTER_S
    ) -> None:
        self.limit = limit
        self.retry_after_s = retry_after_s
        self._lock = threading.Lock()
        self._active = 0

    @property
    def active(self) -> int:
        """Conversions inside the gate now."""
        return self._active

    @contextmanager
    def slot(self) -> Iterator[None]:
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


_GATE = ConversionGate()
"""The process's gate: conversions are bounded per process, whatever app serves them."""


def conversion_gate() -> ConversionGate:
    """The gate every conversion made on request passes."""
    return _GATE


def configure_conversions(limit: int, retry_after_s: int) -> None:
    """Set the process's bound (called by the node at start, from its settings)."""
    with _GATE._lock:
        _GATE.limit = limit
        _GATE.retry_after_s = retry_after_s
