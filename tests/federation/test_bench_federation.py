"""The federation benchmark runs in its quick mode and ends with its JSON summary line."""

from __future__ import annotations

from tests.archive_center.fieldcat_process import cli_env
from tests.bench_run import run_bench


def test_federation_bench_quick_prints_its_figures() -> None:
    args = ["--quick", "--datasets", "5"]
    run = run_bench("federation.py", *args, timeout=600, env=cli_env())
    summary = run.summary
    assert summary["benchmark"] == "federation"
    for name in ("convergence_p50_s", "convergence_p95_s", "per_change_ms",
                 "product_convergence_p50_s", "handover_mb_s"):  # fmt: skip
        assert summary["figures"][name] > 0
    assert summary["figures"]["convergence_p50_s"] < 30
    assert summary["ratios"]["initial_sync_vs_bulk_insert"] > 0
    assert summary["ratios"]["handover_vs_copy"] > 0
