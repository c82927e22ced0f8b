"""The streams benchmark runs in its quick form and ends with its JSON line."""

from __future__ import annotations

import pytest

from tests.bench_run import run_bench


@pytest.mark.slow
def test_streams_bench_quick_prints_its_figures() -> None:
    run = run_bench("streams.py", "--quick", timeout=600)
    result = run.summary
    assert result["benchmark"] == "streams"
    figures, ratios = result["figures"], result["ratios"]
    assert figures["streams"] == 20 and figures["lines_sent"] == 800
    for name in ("line_to_search_p50_s", "line_to_search_p95_s", "stream_lines_per_s",
                 "file_append_lines_per_s", "restart_s"):  # fmt: skip
        assert figures[name] > 0, name
    assert figures["restart_s"] < 10
    assert ratios["stream_vs_file_append"] > 0
