"""NASA Ames data blocks of every FFI, cut into records and spread to one row per point.

The numbers of the block are read at once into one array (NumPy's C parser, correctly
rounded); only when that fails does a token-by-token pass run to say which line and token.
Records then become rows:
- 1001/1010: X, the auxiliary values, the primary values.
- 1020: X, auxiliaries, then NVPM values of each primary; X of value j is X + j * DX.
- 2010/3010/4010: X(NIV), auxiliaries, then each primary's values over the grid given in
  the header, X(1) varying fastest.
- 2110: X(2), auxiliaries (the first is NX), then NX lines of X(1) and the primaries.
- 2310: X(2), auxiliaries (NX, first X(1), step), then each primary's NX values.
- 2160: X(2) is text on its own line, then the numeric auxiliaries (NX first), one line per
  text auxiliary, then NX lines of X(1) and the primaries.
"""

from __future__ import annotations

import io
import logging
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from formats.descriptors import strip_annotation
from formats.model import Diagnostic, Severity
from formats.text_table import parse_free_format

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)

MAX_COUNT = 10_000_000
"""More X(1) values than this in one record is not a count."""


@dataclass
class Block:
    """The rows of a data block: independent variables X(1)...X(NIV), auxiliaries and
    primaries, each one array of `rows` values (text arrays for FFI 2160's text values)."""

    xs: list[npt.NDArray[Any]]
    aux: list[npt.NDArray[Any]]
    prim: list[npt.NDArray[Any]]

    @property
    def rows(self) -> int:
        """Number of rows (grid points)."""
        return len(self.xs[0])

    def independent(self, index: int) -> npt.NDArray[Any]:
        """Values of X(index + 1)."""
        return self.xs[index]

    def auxiliary(self, index: int) -> npt.NDArray[Any]:
        """Values of auxiliary variable `index`."""
        return self.aux[index]

    def primary(self, index: int) -> npt.NDArray[Any]:
        """Values of primary variable `index`."""
        return self.prim[index]


def _error(code: str, message: str, line: int) -> Diagnostic:
    return Diagnostic(code=code, severity=Severity.ERROR, message=message, line=line)


def _numbers(body: str, first: int) -> tuple[npt.NDArray[np.float64] | None, list[Any]]:
    import numpy as np

    text = body
    if "{" in text:
        text = "\n".join(strip_annotation(line) for line in body.splitlines())
    table = _rectangular(text)
    if table is not None:
        return table.ravel(), []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values = np.fromstring(text, dtype=np.float64, sep=" ")
            if bool(np.isfinite(values).all()) and _complete(text, values):
                return values, []
        except (ValueError, DeprecationWarning):
            logger.debug("fast path failed; reading token by token for findings")
    stripped = [strip_annotation(line) for line in body.splitlines()]
    flat, _, findings = parse_free_format(stripped, first)
    if flat is None:
        return None, findings
    return np.asarray(flat, dtype=np.float64), []


def _rectangular(text: str) -> npt.NDArray[np.float64] | None:
    """The block as a table when every line holds as many numbers as the first (pandas' C
    parser, correctly rounded, about 5 times NumPy's text parser); None otherwise."""
    import numpy as np
    import pandas as pd

    if not text.strip():
        return None
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=r"\s+",
            header=None,
            engine="c",
            dtype=np.float64,
            na_filter=False,
        )
    except (ValueError, OverflowError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    table = frame.to_numpy(dtype=np.float64)
    return table if bool(np.isfinite(table).all()) else None


def _complete(text: str, values: npt.NDArray[np.float64]) -> bool:
    """NumPy stops quietly at some bad tokens (`1.2.3`); the last value must be the last token."""
    tail = text.rstrip().rsplit(None, 1)
    if not tail or len(values) == 0:
        return not text.strip()
    try:
        return bool(float(tail[-1]) == values[-1])
    except ValueError:
        return False


def decode_block(head: Any, body: str) -> tuple[Block | None, list[Diagnostic]]:
    """The rows of the data block (the text after the header) of `head`'s FFI, or None
    and the findings."""
    if head.ffi == 2160:
        return _decode_2160(head, body.splitlines(), head.nlhead + 1)
    values, findings = _numbers(body, head.nlhead + 1)
    end = head.nlhead + body.count("\n") + (0 if body.endswith("\n") else 1)
    if values is None:
        return None, findings
    try:
        if head.ffi in (1001, 1010):
            return _fixed(values, head, 1, end), []
        if head.ffi == 1020:
            return _decode_1020(values, head, end), []
        if head.ffi in (2010, 3010, 4010):
            return _decode_grid(values, head, end), []
        return _decode_variable(values, head, end), []
    except _Short as short:
        return None, [_error(short.code, str(short), short.line)]


class _Short(Exception):
    def __init__(self, message: str, line: int, code: str = "FMT004") -> None:
        super().__init__(message)
        self.line, self.code = line, code


def _records(values: npt.NDArray[np.float64], width: int, end: int) -> npt.NDArray[np.float64]:
    if len(values) % width:
        raise _Short(f"the data end inside a record ({len(values) % width} of {width} values)", end)
    return values.reshape(-1, width)


def _fixed(values: npt.NDArray[np.float64], head: Any, nvpm: int, end: int) -> Block:
    naux, nv = len(head.auxiliary), len(head.variables)
    rec = _records(values, 1 + naux + nv, end)
    return Block(
        [rec[:, 0]], [rec[:, 1 + i] for i in range(naux)], [rec[:, 1 + naux + i] for i in range(nv)]
    )


def _decode_1020(values: npt.NDArray[np.float64], head: Any, end: int) -> Block:
    import numpy as np

    naux, nv, nvpm = len(head.auxiliary), len(head.variables), head.nvpm
    rec = _records(values, 1 + naux + nv * nvpm, end)
    steps = np.arange(nvpm, dtype=np.float64) * head.dx[0]
    x = (rec[:, :1] + steps[None, :]).reshape(-1)
    prim = rec[:, 1 + naux :].reshape(len(rec), nv, nvpm)
    return Block(
        [x],
        [np.repeat(rec[:, 1 + i], nvpm) for i in range(naux)],
        [prim[:, i, :].reshape(-1) for i in range(nv)],
    )


def _decode_grid(values: npt.NDArray[np.float64], head: Any, end: int) -> Block:
    import numpy as np

    naux, nv = len(head.auxiliary), len(head.variables)
    sizes = [len(g) for g in head.grid]
    points = int(np.prod(sizes))
    rec = _records(values, 1 + naux + nv * points, end)
    n = len(rec)
    # X(1) varies fastest: index p of a record's values is sum(i_k * prod(sizes[:k])).
    mesh = np.meshgrid(
        *[np.asarray(g, dtype=np.float64) for g in reversed(head.grid)], indexing="ij"
    )
    bounded = [np.tile(m.reshape(-1), n) for m in reversed(mesh)]
    prim = rec[:, 1 + naux :].reshape(n, nv, points)
    return Block(
        [*bounded, np.repeat(rec[:, 0], points)],
        [np.repeat(rec[:, 1 + i], points) for i in range(naux)],
        [prim[:, i, :].reshape(-1) for i in range(nv)],
    )


def _count(value: float, end: int) -> int:
    if not value.is_integer() or not 0 <= value <= MAX_COUNT:
        raise _Short(f"{value:g} is not a count of X(1) values", end)
    return int(value)


def _decode_variable(values: npt.NDArray[np.float64], head: Any, end: int) -> Block:
    """FFI 2110 and 2310: records whose length the first auxiliary value gives."""
    import numpy as np

    naux, nv = len(head.auxiliary), len(head.variables)
    x1: list[Any] = []
    x2: list[Any] = []
    aux: list[Any] = []
    prim: list[Any] = []
    at, total = 0, len(values)
    while at < total:
        if at + 1 + naux > total:
            raise _Short("the data end inside a record", end)
        head_values = values[at + 1 : at + 1 + naux]
        count = _count(float(head_values[0]), end)
        start = at + 1 + naux
        if head.ffi == 2110:
            stop = start + count * (1 + nv)
            if stop > total:
                raise _Short("the data end inside a record", end)
            group = values[start:stop].reshape(count, 1 + nv)
            x1.append(group[:, 0])
            prim.append(group[:, 1:])
        else:
            stop = start + count * nv
            if stop > total:
                raise _Short("the data end inside a record", end)
            x1.append(float(head_values[1]) + np.arange(count) * float(head_values[2]))
            prim.append(values[start:stop].reshape(nv, count).T)
        x2.append(np.full(count, values[at]))
        aux.append(np.repeat(head_values[None, :], count, axis=0))
        at = stop
    if not x1:
        raise _Short("the file has no data rows", end, "FMT003")
    aux_table = np.concatenate(aux)
    prim_table = np.concatenate(prim)
    return Block(
        [np.concatenate(x1), np.concatenate(x2)],
        [aux_table[:, i] for i in range(naux)],
        [prim_table[:, i] for i in range(nv)],
    )


def _floats(line: str, count: int, number: int) -> list[float]:
    tokens = strip_annotation(line).split()
    try:
        found = [float(t) for t in tokens[:count]]
    except ValueError:
        raise _Short(
            f"{line.strip()!r} holds a value that is not a number", number, "FMT005"
        ) from None
    if len(found) < count or not all(math.isfinite(v) for v in found):
        raise _Short(f"{count} numbers are expected on this line", number, "FMT004")
    return found


def _decode_2160(head: Any, body: list[str], first: int) -> tuple[Block | None, list[Diagnostic]]:
    """FFI 2160, line by line: its text values make the stream of numbers unusable."""
    import numpy as np

    naux, ntext, nv = len(head.auxiliary), head.naux_text, len(head.variables)
    numeric = naux - ntext
    rows = [(first + i, line) for i, line in enumerate(body) if line.strip()]
    x1: list[float] = []
    x2: list[str] = []
    aux: list[list[Any]] = []
    prim: list[list[float]] = []
    at = 0
    try:
        while at < len(rows):
            number, line = rows[at]
            label = strip_annotation(line).strip()
            at += 1
            nums: list[float] = []
            while len(nums) < numeric:
                if at >= len(rows):
                    raise _Short("the data end inside a record", number)
                nums += _floats(
                    rows[at][1], len(strip_annotation(rows[at][1]).split()), rows[at][0]
                )
                at += 1
            texts = [strip_annotation(rows[at + k][1]).strip() for k in range(ntext)]
            if at + ntext > len(rows):
                raise _Short("the data end inside a record", number)
            at += ntext
            count = _count(nums[0], number)
            for _ in range(count):
                if at >= len(rows):
                    raise _Short("the data end inside a record", number)
                values = _floats(rows[at][1], 1 + nv, rows[at][0])
                at += 1
                x1.append(values[0])
                x2.append(label)
                aux.append([*nums[:numeric], *texts])
                prim.append(values[1:])
    except (_Short, IndexError) as err:
        where = err.line if isinstance(err, _Short) else first
        code = err.code if isinstance(err, _Short) else "FMT004"
        return None, [_error(code, str(err) or "the data end inside a record", where)]
    if not x1:
        return None, [_error("FMT003", "the file has no data rows", first)]
    aux_columns: list[Any] = []
    for i in range(naux):
        cells = [row[i] for row in aux]
        dtype = np.float64 if i < numeric else object
        aux_columns.append(np.asarray(cells, dtype=dtype))
    table = np.asarray(prim, dtype=np.float64).reshape(len(prim), nv)
    return Block(
        [np.asarray(x1, dtype=np.float64), np.asarray(x2, dtype=object)],
        aux_columns,
        [table[:, i] for i in range(nv)],
    ), []
