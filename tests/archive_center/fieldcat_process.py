"""Helpers for node tests: run the real `fieldcat` command, find free loopback ports."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).absolute().parents[2]


def cli_env(**extra: str) -> dict[str, str]:
    """Env for a `fieldcat` subprocess: no stray FIELDCAT_* settings, this tree first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCAT_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def fieldcat(
    *args: str, timeout: float = 120, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """Run `fieldcat ARGS` (this tree's code) to completion."""
    return subprocess.run(
        [sys.executable, "-m", "archive_center", *args],
        capture_output=True, text=True, timeout=timeout, cwd=REPO, env=cli_env(**extra_env),
    )  # fmt: skip


def start_fieldcat(*args: str, log: Path, **extra_env: str) -> subprocess.Popen[bytes]:
    """Start `fieldcat ARGS` in the background, its output going to `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "archive_center", *args],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO,
            env=cli_env(**extra_env),
        )  # fmt: skip


LISTEN_PORTS = range(20_000, 32_768)
"""Where test nodes listen: below Linux's ephemeral range (32768-60999 by default), which
the kernel hands to outgoing connections. A port probed free there could be taken by any
client's connection before the node bound it (seen: two tests' nodes and a peer's pull)."""
_PARTS = 8
_next: dict[int, int] = {}
"""The next base port to try, by share (its first port)."""


def _part() -> range:
    """This process's share of `LISTEN_PORTS`: one per pytest-xdist worker (gw0, gw1...),
    so two workers never probe the same ports; the last share outside pytest-xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) % (_PARTS - 1) if worker.startswith("gw") else _PARTS - 1
    size = len(LISTEN_PORTS) // _PARTS
    first = LISTEN_PORTS.start + index * size
    return range(first, first + size)


def free_ports(count: int) -> int:
    """A base port such that `count` consecutive loopback ports from it are free: taken in
    turn from this process's share of `LISTEN_PORTS` (from a random start, as a subprocess
    of a test shares its worker's), so blocks handed out one after another never overlap."""
    part = _part()
    _next.setdefault(part.start, part.start + random.randrange(len(part)))
    for _ in range(len(part)):
        base = _next[part.start]
        if base + count > part.stop:
            base = part.start
        _next[part.start] = base + count
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
        return base
    raise RuntimeError("no free block of ports")


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    """Poll `url` until it answers 200; fail with the log if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"process exited {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail(f"{url} not ready after {timeout} s:\n{log.read_text(errors='replace')}")


def stop(process: subprocess.Popen[bytes], sig: int, timeout: float = 30) -> int:
    """Send `sig` and wait for the exit code (kill and fail if it hangs)."""
    process.send_signal(sig)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"process ignored signal {sig} for {timeout} s")


def children_of(pid: int) -> set[int]:
    """Direct child process ids of `pid` (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
