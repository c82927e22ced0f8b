"""The formats benchmark runs in its quick mode and ends with its JSON line."""

from __future__ import annotations

from tests.bench_run import run_bench


def test_quick_run_prints_the_json_line() -> None:
    result = run_bench("formats.py", "--quick", timeout=300).summary
    assert result["benchmark"] == "formats"
    assert set(result["ratios"]) == {
        "parse_vs_pandas",
        "netcdf_vs_netcdf4",
        "icartt_vs_icartt_pkg",
        "nasa_ames_vs_nappy",
    }
    figures = result["figures"]
    assert figures["end_to_end_mb_s"] > 0 and figures["peak_rss_over_file_size"] >= 0
    assert figures["csv_write_mb_s"] > 0 and figures["icartt_mb"] > 0 and figures["nappy_mb"] > 0
    assert all(value > 0 for value in result["ratios"].values())
