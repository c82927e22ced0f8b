"""The formats benchmark runs in its quick mode and ends with its JSON line."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.formats.bench_module import BENCH


def test_quick_run_prints_the_json_line() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
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
