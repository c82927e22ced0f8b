"""The OPeNDAP benchmark runs in its quick form and ends with its JSON line."""

from __future__ import annotations

from tests.bench_run import run_bench


def test_opendap_bench_quick_prints_its_figures() -> None:
    run = run_bench("opendap.py", "--quick", timeout=300)
    result = run.summary
    assert result["benchmark"] == "opendap"
    assert set(result["ratios"]) == {"opendap_vs_download", "download_vs_curl"}
    assert all(value > 0 for value in result["ratios"].values())
    assert result["figures"]["rows"] >= 50_000 and result["figures"]["files"] == 20
    assert 0 < result["figures"]["subset_ms"] < 5000
