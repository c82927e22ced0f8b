"""The download benchmark runs in its quick form and ends with its JSON line."""

from __future__ import annotations

from tests.bench_run import run_bench


def test_download_bench_quick_prints_its_figures() -> None:
    run = run_bench("download.py", "--quick", timeout=300)
    result = run.summary
    assert result["benchmark"] == "download"
    assert result["ratios"]["download_vs_raw_copy"] > 0
    assert result["figures"]["download_peak_rss_growth_mb"] >= 0
    assert result["figures"]["download_peak_rss_growth_mb"] < 64
