"""The load benchmark runs in its quick form and ends with its JSON line."""

from __future__ import annotations

import pytest

from tests.bench_run import run_bench

pytestmark = pytest.mark.slow


def test_load_bench_quick_prints_its_figures() -> None:
    run = run_bench("load.py", "--quick", "--no-postgres", timeout=900)
    result = run.summary
    assert result["benchmark"] == "load"
    figures, ratios = result["figures"], result["ratios"]
    for clients in (20, 100, 200):
        assert figures[f"search_rps_{clients}"] > 0
        assert figures[f"async_search_rps_{clients}"] > 0
    assert figures["search_errors"] == 0
    assert figures["async_search_errors"] == 0
    assert ratios["search_rps_200_vs_20"] > 0
    assert ratios["async_vs_sync_rps_200"] > 0
    assert figures["netcdf_concurrent_per_s"] > 0 and figures["netcdf_serial_per_s"] > 0
    assert ratios["netcdf_concurrent_vs_serial"] > 0
    assert (
        figures["netcdf_lock_8_threads_per_s"] > 0 and figures["netcdf_pool_2_processes_per_s"] > 0
    )
    assert figures["derive_files_per_s"] > 0 and figures["derive_backlog_files"] > 0
    assert ratios["uploads_deriving_vs_no_worker"] > 0
