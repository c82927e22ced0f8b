"""The QC benchmark runs in its quick mode and ends with its JSON summary line; with a
PostgreSQL server for the tests, the line carries the job dispatch figures too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.archive_center.conftest import POSTGRES_ENV

REPO = Path(__file__).resolve().parents[2]


def test_qc_bench_quick_prints_its_figures() -> None:
    args = [sys.executable, str(REPO / "bench" / "qc.py"), "--quick"]
    out = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=300, check=True)
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["benchmark"] == "qc"
    figures = summary["figures"]
    assert figures["rows"] == 20_000
    assert figures["qc_s"] > 0 and figures["ioos_qc_s"] > 0
    assert figures["report_page_p50_s"] > 0 and figures["report_json_p50_s"] > 0
    assert summary["ratios"]["qc_vs_ioos_qc"] > 0
    if os.environ.get(POSTGRES_ENV):
        assert figures["job_start_p50_s"] > 0 and figures["noop_start_p50_s"] > 0
        assert figures["job_deferred_p50_s"] <= figures["job_start_p50_s"]
        assert summary["ratios"]["job_start_vs_noop"] > 0
