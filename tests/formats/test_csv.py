"""The CSV writer: metadata block, ISO times, same values, empty cells and _qc flags."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from formats import Quality, read, write
from tests.formats.conftest import CAMPAIGN, valid_samples


def _sample(name: str) -> Path:
    return next(p for p in valid_samples() if p.name == name)


def test_csv_holds_metadata_times_and_values(tmp_path: Path) -> None:
    datafile = read(_sample("c130_external_sampler.txt"), campaign=CAMPAIGN)
    out = tmp_path / "s.csv"
    write(datafile, "csv", out)
    text = out.read_text()
    assert "# PI NAME: Doe, John (NCAR)" in text
    assert "# feature_type: trajectory" in text
    assert "# column: NO2; original_name: NO2; units: nmol m-3; original_units: nM/m3" in text
    table = pd.read_csv(out, comment="#", dtype={"SAMPLE": str})
    assert list(table.columns) == ["time", "SAMPLE", "NO2", "NO2_qc", "CO", "DMS", "DMS_qc", "NH4"]
    assert table["time"][0] == "1999-02-21T13:35:00.0Z"
    np.testing.assert_allclose(table["CO"], datafile.column("CO").values)
    assert table["SAMPLE"][0] == "E1.160.1"
    assert np.isnan(table["DMS"][17]) and table["DMS_qc"][17] == Quality.MISSING
    assert np.isnan(table["NO2"][64]) and table["NO2_qc"][64] == Quality.BAD
    assert table["DMS_qc"][0] == Quality.GOOD


def test_csv_keeps_precision_and_iso_times(tmp_path: Path) -> None:
    datafile = read(_sample("kco_surface_hourly.txt"), campaign=CAMPAIGN)
    out = tmp_path / "k.csv"
    write(datafile, "csv", out)
    lines = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    assert lines[0] == "time,O3,AOD500,AOD500_qc,RH,WSPD"
    assert lines[1] == "1999-02-01T00:00:00Z,18.20,0.358,0,80.4,4.51"
    assert lines[6] == "1999-02-01T05:00:00Z,26.58,,1,73.5,5.31"
    assert len(lines) == datafile.row_count + 1


def test_csv_stream_is_utf8(tmp_path: Path) -> None:
    from formats import write_to

    datafile = read(_sample("seed_example.txt"), campaign=CAMPAIGN)
    datafile.header.pi_name = "Doe, Jürgen"
    buffer = io.BytesIO()
    write_to(datafile, "csv", buffer)
    assert "# PI NAME: Doe, Jürgen" in buffer.getvalue().decode("utf-8")
