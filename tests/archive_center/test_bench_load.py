"""The load benchmark runs in its quick form and ends with its JSON line."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def test_load_bench_quick_prints_its_figures() -> None:
    out = subprocess.run(
        [sys.executable, "bench/load.py", "--quick", "--no-postgres"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["benchmark"] == "load"
    figures, ratios = result["figures"], result["ratios"]
    for clients in (20, 100, 200):
        assert figures[f"search_rps_{clients}"] > 0
        assert figures[f"async_search_rps_{clients}"] > 0
    assert figures["search_errors"] == 0
    assert figures["async_search_errors"] == 0
    assert ratios["search_rps_200_vs_20"] > 0
    assert ratios["async_vs_sync_rps_200"] > 0
