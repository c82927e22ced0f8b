"""Child processes that never outlive the process that started them."""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal the calling process gets when its parent thread ends."""


def die_with_parent(expected_parent: int | None = None) -> None:
    """In a child process: get SIGTERM when the parent dies (Linux), so a node killed with
    SIGKILL leaves no orphan behind; exit at once if the parent is already gone.

    The kernel sends the signal when the *thread* that created the child ends, so children
    must be started from a thread that lives as long as they should (the node's worker
    thread, the demo launcher's main thread).
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    # The parent may have died between our fork and the prctl: then nobody would signal us.
    if expected_parent is not None and os.getppid() != expected_parent:
        os._exit(1)
