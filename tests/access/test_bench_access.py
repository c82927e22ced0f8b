"""The access benchmark runs in its quick mode and ends with its JSON summary line."""

from __future__ import annotations

from pathlib import Path

from tests.bench_run import run_bench

REPO = Path(__file__).resolve().parents[2]


def test_access_bench_quick_prints_its_ratios() -> None:
    args = ["--quick", "--no-postgres"]
    run = run_bench("access.py", *args, timeout=300)
    summary = run.summary
    assert summary["benchmark"] == "access"
    for who in ("anonymous", "staff", "pi", "named", "vouched"):
        assert summary["ratios"][f"filtered_vs_unfiltered_{who}"] > 0
    assert summary["ratios"]["filtered_vs_unfiltered"] > 0
    assert summary["figures"]["combined_unfiltered_p50_ms_sqlite"] > 0
    assert summary["figures"]["combined_vouched_p50_ms_sqlite"] > 0
    # two real nodes: a home sign-in to the peer's first authorised answer, and its baseline
    assert summary["figures"]["federated_signin_ms"] > summary["figures"]["local_first_answer_ms"]
    assert summary["ratios"]["federated_vs_local_first_answer"] > 1
