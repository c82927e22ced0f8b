"""The UI benchmark runs in its quick mode and ends with its JSON summary line."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def test_ui_bench_quick_prints_its_ratios() -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "ui.py"), "--quick"],
        capture_output=True, text=True, cwd=REPO, timeout=300, check=True,
    )  # fmt: skip
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["benchmark"] == "ui"
    assert summary["ratios"]["search_page_vs_api"] > 0
    assert summary["ratios"]["dataset_page_vs_api"] > 0
    assert summary["figures"]["search_page_ms"] > 0
