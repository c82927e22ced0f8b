"""The search benchmark runs in its quick mode and ends with its JSON summary line."""

from __future__ import annotations

from pathlib import Path

from tests.bench_run import run_bench
from tests.conftest import postgres_url

REPO = Path(__file__).resolve().parents[2]


def test_search_bench_quick_prints_its_figures() -> None:
    args = ["--quick", "--only", "classic"]
    if not postgres_url():
        args.append("--no-postgres")
    run = run_bench("search.py", *args, timeout=300)
    summary = run.summary
    assert summary["benchmark"] == "search"
    assert summary["figures"]["search_p50_ms_100k_sqlite"] > 0
    assert summary["ratios"]["latency_100k_vs_1k_sqlite"] > 0
    assert summary["ratios"]["facets_vs_plain_sqlite"] > 0
    assert "SEARCH datasets USING INDEX" in run.stdout  # the plan shows an index, not a scan
    if "--no-postgres" not in args:
        assert "latency_100k_vs_1k_postgres" in summary["ratios"]


def test_fulltext_bench_quick_prints_the_issues_figures() -> None:
    args = ["--quick", "--only", "fulltext"]
    if not postgres_url():
        args.append("--no-postgres")
    run = run_bench("search.py", *args, timeout=300)
    summary = run.summary
    figures, ratios = summary["figures"], summary["ratios"]
    assert summary["benchmark"] == "search"
    assert figures["fulltext_p50_ms_100k_sqlite"] > 0
    assert figures["suggestions_p95_ms_100k_sqlite"] > 0
    assert 0 < figures["order_1000_heap_growth_mb"] < 64  # an order streams
    assert ratios["fulltext_vs_plain_sqlite"] > 0
    if "--no-postgres" not in args:
        for name in ("fulltext_1m_vs_100k_postgres", "fulltext_vs_plain", "facets_cold_1m_vs_100k",
                     "facets_cold_filtered_1m_vs_100k"):  # fmt: skip
            assert ratios[name] > 0
        assert figures["suggestions_p95_ms_1m_postgres"] > 0
        assert figures["facets_cold_filtered_p50_ms_1m_postgres"] > 0
        assert figures["facets_cold_other_filters_p50_ms_1m_postgres"] > 0
