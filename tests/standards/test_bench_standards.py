"""The standard faces benchmark runs in its quick mode and ends with its JSON summary line."""

from __future__ import annotations

from pathlib import Path

from tests.bench_run import run_bench

REPO = Path(__file__).resolve().parents[2]


def test_standards_bench_quick_prints_its_figures() -> None:
    args = ["--quick"]
    run = run_bench("standards.py", *args, timeout=300)
    summary = run.summary
    assert summary["benchmark"] == "standards"
    figures, ratios = summary["figures"], summary["ratios"]
    assert figures["datasets"] == 2000
    assert figures["oai_records_per_s"] > 0
    assert figures["oai_records_harvested"] > 1000  # every record anonymous may see, not a page
    assert figures["stac_search_p50_ms"] > 0 and figures["api_search_p50_ms"] > 0
    assert ratios["stac_vs_api"] > 0
