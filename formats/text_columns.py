"""Text columns built as byte matrices by NumPy, for the CSV writer's speed.

Each column of a chunk of rows becomes an (rows x width) `uint8` matrix whose unused cells
are 0; the columns and separators are stacked side by side and the zeros dropped, which
leaves exactly the bytes of the lines. No Python code runs per value except for columns that
need it (text, scientific numbers), so a 100 MB table is written at C speed.

Fixed-decimal numbers are digits of `rint(value * 10**decimals)`: the same text as
`"%.{decimals}f" % value` whenever the scaled value is not within a quarter of a half-way
point (true of every value read from text with that many decimals); a column where that does
not hold is formatted by Python instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)

ROWS_PER_CHUNK = 100_000
Builder = Callable[[int, int], "npt.NDArray[np.uint8]"]
"""Rows `first:last` of a column as a byte matrix (0 where there is no byte)."""


def bytes_matrix(texts: Any) -> npt.NDArray[np.uint8]:
    """Byte matrix of an array (or list) of str, UTF-8 encoded, NUL padded."""
    import numpy as np

    array = np.asarray(texts, dtype=str)
    if array.size == 0:
        return np.zeros((len(array), 1), dtype=np.uint8)
    try:
        encoded = array.astype(f"S{max(1, array.dtype.itemsize // 4)}")  # ASCII, in C
    except UnicodeEncodeError:
        encoded = np.strings.encode(array, "utf-8")
    width = max(1, encoded.dtype.itemsize)
    return encoded.view(np.uint8).reshape(len(array), width)


def _digits(out: Any, column: int, values: Any, width: int) -> None:
    """Write `values` as `width` zero-padded digits into `out` from `column` on."""
    rest = values.copy()
    for col in range(column + width - 1, column - 1, -1):
        out[:, col] = rest % 10 + ord("0")
        rest //= 10


def time_matrix(times: npt.NDArray[Any], decimals: int) -> npt.NDArray[np.uint8]:
    """ISO 8601 UTC (`YYYY-MM-DDTHH:MM:SS[.f]Z`) of `datetime64` values, `decimals` fraction
    digits (truncated), as a byte matrix (years 0 to 9999)."""
    import numpy as np

    decimals = max(0, min(decimals, 9))
    t = times.astype("datetime64[ns]")
    days = t.astype("datetime64[D]")
    months = t.astype("datetime64[M]")
    year = t.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    ns = (t - days).astype(np.int64)
    seconds = ns // 1_000_000_000
    width = 20 + (1 + decimals if decimals else 0)
    out = np.zeros((len(t), width), dtype=np.uint8)
    for column, char in ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":")):
        out[:, column] = ord(char)
    _digits(out, 0, year, 4)
    _digits(out, 5, month, 2)
    _digits(out, 8, day, 2)
    _digits(out, 11, seconds // 3600, 2)
    _digits(out, 14, seconds // 60 % 60, 2)
    _digits(out, 17, seconds % 60, 2)
    if decimals:
        out[:, 19] = ord(".")
        _digits(out, 20, ns % 1_000_000_000 // 10 ** (9 - decimals), decimals)
    out[:, width - 1] = ord("Z")
    return out


def fixed_matrix(values: npt.NDArray[np.float64], decimals: int) -> npt.NDArray[np.uint8] | None:
    """`%.{decimals}f` of finite values as a byte matrix, or None when the shortcut could
    round differently from Python (see the module docstring)."""
    import numpy as np

    scaled = values * float(10**decimals)
    whole = np.rint(scaled)
    if len(values) and not (
        bool((np.abs(scaled - whole) <= 0.25).all()) and float(np.abs(whole).max()) < 2.0**52
    ):
        return None
    number = np.abs(whole).astype(np.int64)
    integer = number // 10**decimals
    powers = 10 ** np.arange(1, 19, dtype=np.int64)
    int_digits = 1 + np.searchsorted(powers, integer, side="right")
    width_int = int(int_digits.max()) if len(values) else 1
    width = 1 + width_int + (1 + decimals if decimals else 0)
    out = np.zeros((len(values), width), dtype=np.uint8)
    rest = number.copy()
    for col in range(width - 1, 0, -1):
        if decimals and col == width - 1 - decimals:
            out[:, col] = ord(".")
            continue
        out[:, col] = rest % 10 + ord("0")
        rest //= 10
    # Leading zeros of the integer part go; the sign sits just before the first digit.
    positions = np.arange(width_int)[None, :]
    blank = positions < (width_int - int_digits)[:, None]
    out[:, 1 : 1 + width_int][blank] = 0
    negative = np.signbit(values)
    rows = np.flatnonzero(negative)
    out[rows, width_int - int_digits[rows]] = ord("-")
    return out


def number_builder(
    values: npt.NDArray[np.float64], decimals: int | None, hole: Callable[[int], str]
) -> Builder:
    """A builder of a numeric column: fixed decimals, or the shortest exact text (NumPy's
    repr) when `decimals` is None; `hole(i)` gives the text of a non-finite value."""
    import numpy as np

    def build(first: int, last: int) -> npt.NDArray[np.uint8]:
        part = values[first:last]
        finite = np.isfinite(part)
        clean = np.where(finite, part, 0.0)
        matrix = fixed_matrix(clean, decimals) if decimals is not None else None
        if matrix is None:
            if decimals is None:
                texts: Any = clean.astype(str)
            else:
                texts = [f"%.{decimals}f" % v for v in clean.tolist()]
            matrix = bytes_matrix(texts)
        holes = np.flatnonzero(~finite)
        if len(holes):
            fill = bytes_matrix([hole(first + int(i)) for i in holes])
            if fill.shape[1] > matrix.shape[1]:
                pad = np.zeros((len(matrix), fill.shape[1] - matrix.shape[1]), np.uint8)
                matrix = np.hstack([matrix, pad])
            matrix[holes] = 0
            matrix[holes, : fill.shape[1]] = fill
        return matrix

    return build


def text_builder(texts: Any) -> Builder:
    """A builder of a column already turned into text (a list or array of str)."""
    return lambda first, last: bytes_matrix(texts[first:last])


def write_columns(stream: BinaryIO, builders: Sequence[Builder], sep: str, rows: int) -> None:
    """Write `rows` lines of the columns joined by `sep`, chunk by chunk."""
    import numpy as np

    separator = np.frombuffer(sep.encode("utf-8"), dtype=np.uint8)
    for first in range(0, rows, ROWS_PER_CHUNK):
        last = min(rows, first + ROWS_PER_CHUNK)
        count = last - first
        parts: list[npt.NDArray[np.uint8]] = []
        for index, build in enumerate(builders):
            if index:
                parts.append(np.broadcast_to(separator, (count, len(separator))))
            parts.append(build(first, last))
        parts.append(np.full((count, 1), ord("\n"), dtype=np.uint8))
        block = np.hstack(parts)
        flat = block.ravel()
        stream.write(flat[flat != 0].tobytes())
