"""The CIDS benchmark runs in its quick mode and ends with its JSON summary line."""

from __future__ import annotations

from pathlib import Path

from tests.bench_run import run_bench

REPO = Path(__file__).resolve().parents[2]


def test_cids_bench_quick_prints_its_figures() -> None:
    args = ["--quick"]
    run = run_bench("cids.py", *args, timeout=300)
    summary = run.summary
    assert summary["benchmark"] == "cids"
    figures = summary["figures"]
    for name in ("nav_merge_s", "nav_merge_pandas_s", "merge_build_s", "collocate_p50_ms"):
        assert figures[name] > 0, name
    assert (
        figures["collocate_matches"] > 0 and 0 < figures["positioned"] < figures["nav_merge_rows"]
    )
    assert summary["ratios"]["nav_merge_vs_pandas"] > 0
