"""The conversion gate: `running` at work at once, `limit` admitted, the next one refused."""

from __future__ import annotations

import threading
import time

import pytest

from catalog.conversion_gate import ConversionGate
from catalog.errors import BusyError


def test_running_turns_admission_and_refusal() -> None:
    gate = ConversionGate(limit=3, retry_after_s=4, running=1)
    inside: list[int] = []
    most = [0]
    release = threading.Event()

    def convert() -> None:
        with gate.slot():
            inside.append(1)
            most[0] = max(most[0], len(inside))
            release.wait(5)
            inside.pop()

    threads = [threading.Thread(target=convert) for _ in range(3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while gate.active < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(BusyError) as refused:
        with gate.slot():
            pytest.fail("admitted past the limit")
    assert refused.value.retry_after_s == 4
    release.set()
    for thread in threads:
        thread.join(5)
    assert most[0] == 1, "more conversions worked at once than `running`"
    assert gate.active == 0
    with gate.slot():
        assert gate.active == 1
