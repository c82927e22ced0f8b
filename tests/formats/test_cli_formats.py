"""`fieldcat validate` and `fieldcat convert` run as real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.formats.conftest import invalid_samples, valid_samples

REPO = Path(__file__).resolve().parents[2]


def fieldcat(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archive_center", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def _sample(name: str) -> Path:
    return next(p for p in valid_samples() + invalid_samples() if p.name == name)


def test_validate_valid_files_exits_0() -> None:
    result = fieldcat("validate", *valid_samples(), "--year", "1999")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout and "Traceback" not in result.stderr
    assert "warning LOC001" in result.stdout  # warnings shown, not failing


def test_validate_invalid_file_exits_1_with_line() -> None:
    path = _sample("time_not_increasing.txt")
    result = fieldcat("validate", path)
    assert result.returncode == 1
    assert f"{path}:61:1: error TIM003:" in result.stdout


def test_validate_mixed_files_exits_1() -> None:
    result = fieldcat("validate", _sample("kco_surface_hourly.txt"), _sample("empty.txt"))
    assert result.returncode == 1


def test_validate_json() -> None:
    result = fieldcat("validate", _sample("extra_column_row.txt"), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    first = report["diagnostics"][0]
    assert (first["code"], first["line"], first["severity"]) == ("DAT001", 40, "error")
    assert first["help"]


def test_validate_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    result = fieldcat("validate", tmp_path / "nope.txt")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "nope.txt" in result.stderr


@pytest.mark.parametrize(("fmt", "ext"), [("csv", ".csv"), ("header", ".txt"), ("netcdf", ".nc")])
def test_convert_writes_the_default_name(fmt: str, ext: str, tmp_path: Path) -> None:
    src = tmp_path / "kco.dat"
    src.write_bytes(_sample("kco_surface_hourly.txt").read_bytes())
    result = fieldcat("convert", src, "--to", fmt)
    assert result.returncode == 0, result.stderr
    out = src.with_suffix(ext)
    assert out.exists() and out.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_convert_with_out_and_year(tmp_path: Path) -> None:
    out = tmp_path / "seed.csv"
    result = fieldcat(
        "convert", _sample("seed_example.txt"), "--to", "csv", "-o", out, "--year", "1999"
    )
    assert result.returncode == 0, result.stderr
    assert "1999-08-21T13:35:00.0Z" in out.read_text()


def test_convert_invalid_input_says_why_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    result = fieldcat("convert", _sample("bad_timestamp.txt"), "--to", "csv", "-o", out)
    assert result.returncode == 1
    assert "TIM001" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_convert_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    result = fieldcat(
        "convert", _sample("kco_surface_hourly.txt"), "--to", "xls", "-o", tmp_path / "x"
    )
    assert result.returncode == 2 and "netcdf" in result.stderr
