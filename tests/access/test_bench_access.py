"""The access benchmark runs in its quick mode and ends with its JSON summary line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_access_bench_quick_prints_its_ratios() -> None:
    args = [sys.executable, str(REPO / "bench" / "access.py"), "--quick", "--no-postgres"]
    out = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=300, check=True)
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["benchmark"] == "access"
    for name in ("filtered_vs_unfiltered_anonymous", "filtered_vs_unfiltered_staff"):
        assert summary["ratios"][name] > 0
    assert summary["figures"]["combined_unfiltered_p50_ms_sqlite"] > 0
