"""The OPeNDAP benchmark runs in its quick form and ends with its JSON line."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def test_opendap_bench_quick_prints_its_figures() -> None:
    out = subprocess.run(
        [sys.executable, "bench/opendap.py", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["benchmark"] == "opendap"
    assert set(result["ratios"]) == {"opendap_vs_download", "download_vs_curl"}
    assert all(value > 0 for value in result["ratios"].values())
    assert result["figures"]["rows"] >= 50_000 and result["figures"]["files"] == 20
    assert 0 < result["figures"]["subset_ms"] < 5000
