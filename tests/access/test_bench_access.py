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
    for who in ("anonymous", "staff", "pi", "named", "vouched"):
        assert summary["ratios"][f"filtered_vs_unfiltered_{who}"] > 0
    assert summary["ratios"]["filtered_vs_unfiltered"] > 0
    assert summary["figures"]["combined_unfiltered_p50_ms_sqlite"] > 0
    assert summary["figures"]["combined_vouched_p50_ms_sqlite"] > 0
    # two real nodes: a home sign-in to the peer's first authorised answer, and its baseline
    assert summary["figures"]["federated_signin_ms"] > summary["figures"]["local_first_answer_ms"]
    assert summary["ratios"]["federated_vs_local_first_answer"] > 1
