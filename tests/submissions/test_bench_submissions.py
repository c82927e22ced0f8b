"""The submissions benchmark runs in its quick form and ends with its JSON line."""

from __future__ import annotations

import pytest

from tests.bench_run import run_bench


@pytest.mark.slow
def test_submissions_bench_quick_prints_its_figures() -> None:
    run = run_bench("submissions.py", "--quick", timeout=600)
    result = run.summary
    assert result["benchmark"] == "submissions"
    figures, ratios = result["figures"], result["ratios"]
    for name in ("ftp_to_search_p50_s", "ftp_to_search_p95_s", "http_uploads_per_s",
                 "upload_peak_rss_growth_mb", "email_to_search_p50_s", "http_uploads_refused",
                 "raw_copy_mb_per_s_min"):  # fmt: skip
        assert figures[name] >= 0
    assert figures["upload_peak_rss_growth_mb"] < 64
    assert ratios["http_vs_inprocess"] > 0 and ratios["upload_vs_raw_copy"] > 0
