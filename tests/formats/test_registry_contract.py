"""One contract over every registered reader and writer: sniffing, round trip, corrupt input.

Parametrised from the registry's table, so a format added there is tested here at once.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from formats import (
    WRITER_FORMATS,
    ColumnKind,
    DataFile,
    FormatError,
    UnknownFormatError,
    read,
    sniff,
    validate,
    write_to,
    writer_info,
)
from formats.registry import READERS, WRITERS, available_readers, available_writers
from tests.formats.conftest import CAMPAIGN, SAMPLES


def _samples_by_reader() -> list[tuple[str, Path]]:
    found = []
    for path in sorted((SAMPLES / "valid").iterdir()) + sorted((SAMPLES / "real").iterdir()):
        for name in available_readers():
            if path.suffix.lower() in READERS[name].extensions:
                found.append((name, path))
    return found


SAMPLES_BY_READER = _samples_by_reader()


def test_every_reader_has_a_sample() -> None:
    assert {name for name, _ in SAMPLES_BY_READER} == set(available_readers())


def test_writer_table_matches_the_contract() -> None:
    assert set(WRITERS) == set(WRITER_FORMATS)
    for fmt in WRITER_FORMATS:
        info = writer_info(fmt)
        assert info.extension.startswith(".") and "/" in info.media_type
    with pytest.raises(FormatError):
        writer_info("excel")


def test_import_formats_stays_cheap() -> None:
    code = (
        "import sys, formats; "
        "print(sorted(m for m in ('pandas','netCDF4','matplotlib','numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("reader", "path"), SAMPLES_BY_READER, ids=lambda v: getattr(v, "name", v))
def test_sniffing_trusts_content_over_extension(reader: str, path: Path) -> None:
    head = path.read_bytes()[:4096]
    assert sniff(head, path.name) == reader
    assert sniff(head, "renamed.bin") == reader
    assert sniff(head) == reader


def test_sniffing_unknown_content_raises() -> None:
    with pytest.raises(UnknownFormatError):
        sniff(b"\x00\x01\x02 nothing here", "x.txt")
    assert sniff(b"CDF\x01\x00\x00", "x.txt") == "netcdf"


@pytest.mark.parametrize(("reader", "path"), SAMPLES_BY_READER, ids=lambda v: getattr(v, "name", v))
def test_reader_reads_its_sample_or_reports_cleanly(reader: str, path: Path) -> None:
    report = validate(path, campaign=CAMPAIGN)
    assert report.format == reader
    if not report.valid:
        # a variant the reader does not support must say so with a finding, not raise
        assert report.errors and report.datafile is None
        with pytest.raises(FormatError):
            read(path, campaign=CAMPAIGN)
        return
    datafile = report.datafile
    assert datafile is not None and datafile.source_format == reader
    assert datafile.row_count > 0
    assert datafile.time.values.dtype == np.dtype("datetime64[ns]")
    assert datafile.extent.start is not None


def _corruptions(data: bytes) -> list[bytes]:
    half = len(data) // 2
    return [
        data[:half],
        data[: half // 3],
        data[:half] + b"\x00\xff\xfe" + data[half:],
        data.replace(b"\n", b"\n\n", 3),
        data.replace(b"1", b"x", 5),
        data[::-1],
        bytes(b ^ 0x55 for b in data[:2000]),
        data[: len(data) // 4] + data[len(data) // 2 :],
    ]


@pytest.mark.parametrize(("reader", "path"), SAMPLES_BY_READER, ids=lambda v: getattr(v, "name", v))
def test_corrupt_files_give_format_errors_only(reader: str, path: Path) -> None:
    for data in _corruptions(path.read_bytes()):
        report = validate(data, campaign=CAMPAIGN, filename=path.name)
        assert isinstance(report.valid, bool)
        try:
            read(data, campaign=CAMPAIGN, filename=path.name)
        except FormatError:
            pass


def _readable_sources() -> list[DataFile]:
    files = []
    for _, path in SAMPLES_BY_READER:
        report = validate(path, campaign=CAMPAIGN)
        if report.datafile is not None:
            files.append(report.datafile)
    return files


@pytest.mark.parametrize("fmt", available_writers())
def test_every_writer_writes_every_readable_sample(fmt: str) -> None:
    for datafile in _readable_sources():
        buffer = io.BytesIO()
        try:
            write_to(datafile, fmt, buffer)
        except FormatError:
            # a format that cannot hold something (e.g. text ids in ICARTT) says so
            continue
        assert buffer.getvalue()
        if fmt in available_readers():
            again = read(buffer.getvalue(), campaign=CAMPAIGN)
            assert again.row_count == datafile.row_count
            for col in datafile.data_columns:
                if col.kind is ColumnKind.NUMBER:
                    other = again.column(col.name)
                    np.testing.assert_allclose(other.values, col.values, rtol=1e-9, equal_nan=True)
