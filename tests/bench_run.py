"""Running a benchmark's quick mode from a test: its summary line, or a failure that shows
why it stopped (the tail of its stderr), not only that it did."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from tests.conftest import REPO

STDERR_TAIL = 4000
"""Characters of a failed benchmark's stderr shown in the failure: its traceback."""


@dataclass(frozen=True)
class BenchRun:
    summary: dict[str, Any]
    """The last line: one JSON object `{"benchmark", "figures", "ratios"}`."""
    stdout: str


def run_bench(
    script: str, *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> BenchRun:
    """Run `bench/<script>` with `args` from the repository; fail with its stderr's tail when
    it exits non-zero or does not end with its JSON line."""
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), *args],
        capture_output=True, text=True, cwd=REPO, timeout=timeout, env=env, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(
            f"bench/{script} {' '.join(args)} exited {done.returncode}:\n"
            f"{done.stderr[-STDERR_TAIL:]}"
        )
    lines = done.stdout.strip().splitlines()
    try:
        summary = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError) as exc:
        raise AssertionError(
            f"bench/{script} did not end with its JSON line ({exc}):\n{done.stdout[-STDERR_TAIL:]}"
        ) from exc
    return BenchRun(summary=summary, stdout=done.stdout)
