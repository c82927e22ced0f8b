"""The UI benchmark runs in its quick mode and ends with its JSON summary line."""

from __future__ import annotations

from tests.bench_run import run_bench


def test_ui_bench_quick_prints_its_ratios() -> None:
    run = run_bench("ui.py", "--quick", timeout=300)
    summary = run.summary
    assert summary["benchmark"] == "ui"
    assert summary["ratios"]["search_page_vs_api"] > 0
    assert summary["ratios"]["dataset_page_vs_api"] > 0
    assert summary["figures"]["search_page_ms"] > 0
