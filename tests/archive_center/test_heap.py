"""A serving process's start-up heap leaves the cyclic collector's walks, and garbage made
afterwards is still collected (run in a child process: freezing is for good)."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import gc, weakref
import archive_center.app  # the modules a serving process has loaded
from archive_center.heap import settle_heap

tracked = len(gc.get_objects())
settle_heap()
assert gc.get_freeze_count() > tracked // 2, (gc.get_freeze_count(), tracked)

class Node:
    pass

a, b = Node(), Node()
a.other, b.other = b, a  # a cycle made after start-up
gone = weakref.ref(a)
del a, b
gc.collect()
assert gone() is None
"""


def test_settle_heap_freezes_start_up_and_still_collects_later_cycles() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
