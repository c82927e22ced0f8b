"""The federation benchmark runs in its quick mode and ends with its JSON summary line."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.archive_center.fieldcat_process import REPO, cli_env


def test_federation_bench_quick_prints_its_figures() -> None:
    args = [sys.executable, str(REPO / "bench" / "federation.py"), "--quick", "--datasets", "5"]
    out = subprocess.run(
        args, capture_output=True, text=True, cwd=REPO, timeout=600, check=True, env=cli_env()
    )
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["benchmark"] == "federation"
    for name in ("convergence_p50_s", "convergence_p95_s", "per_change_ms",
                 "product_convergence_p50_s", "handover_mb_s"):  # fmt: skip
        assert summary["figures"][name] > 0
    assert summary["figures"]["convergence_p50_s"] < 30
    assert summary["ratios"]["initial_sync_vs_bulk_insert"] > 0
    assert summary["ratios"]["handover_vs_copy"] > 0
