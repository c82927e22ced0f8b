"""The QC benchmark runs in its quick mode and ends with its JSON summary line; with a
PostgreSQL server for the tests, the line carries the job dispatch figures too."""

from __future__ import annotations

from pathlib import Path

from tests.bench_run import run_bench
from tests.conftest import postgres_url

REPO = Path(__file__).resolve().parents[2]


def test_qc_bench_quick_prints_its_figures() -> None:
    args = ["--quick"]
    run = run_bench("qc.py", *args, timeout=300)
    summary = run.summary
    assert summary["benchmark"] == "qc"
    figures = summary["figures"]
    assert figures["rows"] == 20_000
    assert figures["qc_s"] > 0 and figures["ioos_qc_s"] > 0
    assert figures["report_page_p50_s"] > 0 and figures["report_json_p50_s"] > 0
    assert summary["ratios"]["qc_vs_ioos_qc"] > 0
    if postgres_url():
        assert figures["job_start_p50_s"] > 0 and figures["noop_start_p50_s"] > 0
        assert figures["job_deferred_p50_s"] <= figures["job_start_p50_s"]
        assert summary["ratios"]["job_start_vs_noop"] > 0
