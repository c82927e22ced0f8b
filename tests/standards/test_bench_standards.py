"""The standard faces benchmark runs in its quick mode and ends with its JSON summary line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_standards_bench_quick_prints_its_figures() -> None:
    args = [sys.executable, str(REPO / "bench" / "standards.py"), "--quick"]
    out = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=300, check=True)
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["benchmark"] == "standards"
    figures, ratios = summary["figures"], summary["ratios"]
    assert figures["datasets"] == 2000
    assert figures["oai_records_per_s"] > 0
    assert figures["oai_records_harvested"] > 1000  # every record anonymous may see, not a page
    assert figures["stac_search_p50_ms"] > 0 and figures["api_search_p50_ms"] > 0
    assert ratios["stac_vs_api"] > 0
