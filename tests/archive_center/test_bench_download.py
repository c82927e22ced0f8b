"""The download benchmark runs in its quick form and ends with its JSON line."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def test_download_bench_quick_prints_its_figures() -> None:
    out = subprocess.run(
        [sys.executable, "bench/download.py", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["benchmark"] == "download"
    assert result["ratios"]["download_vs_raw_copy"] > 0
    assert result["figures"]["download_peak_rss_growth_mb"] >= 0
    assert result["figures"]["download_peak_rss_growth_mb"] < 64
