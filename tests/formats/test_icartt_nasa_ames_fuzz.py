"""Any bytes given to the ICARTT and NASA Ames readers give a result or findings, never an
exception outside the `FormatError` family (hypothesis: mutations, truncations, noise)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formats.icartt import read_icartt
from formats.model import DataFile, Diagnostic, FormatError, Severity
from formats.nasa_ames import read_nasa_ames
from tests.formats.conftest import SAMPLES

Reader = Callable[[bytes, None], tuple[DataFile | None, list[Diagnostic]]]


def _head(name: str, lines: int) -> bytes:
    return b"".join((SAMPLES / "real" / name).read_bytes().splitlines(keepends=True)[:lines])


SEEDS: dict[str, tuple[Reader, list[bytes]]] = {
    "icartt": (
        read_icartt,  # type: ignore[dict-item]
        [
            _head("ACTAMERICA-flag-metadata_C130_20170206_R0.ict", 90),
            _head("ACTAMERICA-mrg05-b200_merge_20170121_R0.ict", 150),
        ],
    ),
    "nasa_ames": (
        read_nasa_ames,  # type: ignore[dict-item]
        [
            _head(n, 100)
            for n in (
                "nasa_ames_1001.na",
                "nasa_ames_1001a.na",
                "nasa_ames_1010.na",
                "nasa_ames_2110.na",
            )
        ],
    ),
}


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed file with a few bytes replaced, inserted or deleted, maybe truncated."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = draw(st.sampled_from(list(b"0123456789-.,eE \r\n\t:x\x00\xff")))
        if kind == "replace":
            data[at] = byte
        elif kind == "insert":
            data.insert(at, byte)
        else:
            del data[at]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def _check(reader: Reader, data: bytes) -> None:
    try:
        datafile, findings = reader(data, None)
    except FormatError:
        return
    if datafile is None:
        assert any(f.severity is Severity.ERROR for f in findings)
    else:
        assert datafile.row_count == len(datafile.time.values) > 0
        assert all(len(c.values) == datafile.row_count for c in datafile.columns)


@pytest.mark.parametrize("fmt", sorted(SEEDS))
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_files_never_raise(fmt: str, data: st.DataObject) -> None:
    reader, seeds = SEEDS[fmt]
    assert all(seeds), "every seed is read from tests/fixtures/samples/real"
    _check(reader, data.draw(mutated(seeds)))


@pytest.mark.parametrize("fmt", sorted(SEEDS))
@settings(max_examples=300, deadline=None)
@given(noise=st.binary(max_size=2000))
def test_random_bytes_never_raise(fmt: str, noise: bytes) -> None:
    reader, seeds = SEEDS[fmt]
    first_line = seeds[0].split(b"\n", 1)[0] + b"\n" if seeds[0] else b""
    _check(reader, noise)
    _check(reader, first_line + noise)


def test_seeds_read_cleanly() -> None:
    for reader, seeds in SEEDS.values():
        for seed in seeds:
            if seed:
                datafile, _ = reader(seed, None)
                assert datafile is not None
