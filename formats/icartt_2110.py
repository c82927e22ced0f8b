"""ICARTT FFI 2110 and 2310 data blocks, one row per dependent line.

Each auxiliary line (time, number of dependent lines, other auxiliary values) is followed by
that many dependent lines: in 2110 the bounded variable and the dependent values; in 2310 the
dependent values alone, the bounded variable being the auxiliaries' first value plus the
line's index times their step (auxiliaries: NX, X0, DX, ...). A row of the table is time,
bounded variable, the auxiliary values repeated, then the dependent values.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from formats.model import Diagnostic, Severity
from formats.text_table import MAX_FINDINGS

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)


def _numbers(line: str, count: int, number: int) -> tuple[list[float] | None, Diagnostic | None]:
    tokens = [t.strip() for t in line.split(",")]
    if len(tokens) != count:
        msg = f"{len(tokens)} values where {count} are declared"
        return None, Diagnostic("FMT004", Severity.ERROR, msg, line=number)
    values: list[float] = []
    for index, token in enumerate(tokens):
        try:
            value = float(token)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            msg = f"{token!r} in column {index + 1} is not a number"
            col = line.find(token) + 1
            return None, Diagnostic("FMT005", Severity.ERROR, msg, line=number, col=col)
        values.append(value)
    return values, None


def _by_variable(body: list[tuple[int, str]], at: int, count: int, ndep: int) -> bool:
    """Whether a 2310 record's dependent lines hold one variable each (NX values a line, as
    NASA Ames 2310 has them) rather than one level each (NV values a line); when NX equals
    NV the NASA Ames layout is assumed."""
    if at >= len(body):
        return False
    width = len(body[at][1].split(","))
    return width == count or (width != ndep and count != ndep)


def _variable_lines(
    body: list[tuple[int, str]], at: int, count: int, ndep: int
) -> tuple[list[list[float]] | None, Diagnostic | None]:
    """The (NX x NV) values of a 2310 record written one variable a line."""
    columns: list[list[float]] = []
    for offset in range(ndep):
        if at + offset >= len(body):
            msg = "the file ends before the dependent lines this record announces"
            return None, Diagnostic("FMT004", Severity.ERROR, msg, line=body[-1][0])
        number, line = body[at + offset]
        values, bad = _numbers(line, count, number)
        if values is None:
            return None, bad
        columns.append(values)
    return [list(level) for level in zip(*columns, strict=True)], None


def read_2110_rows(
    head: Any, lines: list[str]
) -> tuple[npt.NDArray[np.float64] | None, list[Any], list[Diagnostic]]:
    """The flat table of a 2110 file, its column variables and any findings."""
    import numpy as np

    naux, ndep = len(head.auxiliary), len(head.variables)
    rows: list[list[float]] = []
    findings: list[Diagnostic] = []
    body = [(n, line) for n, line in enumerate(lines[head.nlhead :], head.nlhead + 1)]
    body = [(n, line) for n, line in body if line.strip()]
    at = 0
    while at < len(body) and len(findings) < MAX_FINDINGS:
        number, line = body[at]
        aux, bad = _numbers(line, 1 + naux, number)
        at += 1
        if aux is None:
            findings.extend([bad] if bad else [])
            break
        count = aux[1] if naux else 0.0
        if count < 0 or not count.is_integer():
            msg = f"the number of dependent lines {count} is not a count"
            findings.append(Diagnostic("FMT004", Severity.ERROR, msg, line=number))
            break
        if count == 0:
            rows.append([aux[0], math.nan, *aux[1:], *([math.nan] * ndep)])
        elif head.ffi == 2310 and _by_variable(body, at, int(count), ndep):
            # NASA Ames layout: one line per dependent variable holding its NX values.
            levels, bad = _variable_lines(body, at, int(count), ndep)
            at += ndep
            if levels is None:
                findings.extend([bad] if bad else [])
                continue
            for index, values in enumerate(levels):
                rows.append([aux[0], aux[2] + index * aux[3], *aux[1:], *values])
            continue
        first_row = len(rows)
        for _ in range(int(count)):
            if at >= len(body):
                msg = "the file ends before the dependent lines this record announces"
                findings.append(Diagnostic("FMT004", Severity.ERROR, msg, line=number))
                break
            dep_number, dep_line = body[at]
            if head.ffi == 2310:
                dep, bad = _numbers(dep_line, ndep, dep_number)
                if dep is not None:
                    dep = [aux[2] + (len(rows) - first_row) * aux[3], *dep]
            else:
                dep, bad = _numbers(dep_line, 1 + ndep, dep_number)
            at += 1
            if dep is None:
                findings.extend([bad] if bad else [])
                continue
            rows.append([aux[0], dep[0], *aux[1:], *dep[1:]])
    names = [head.independent, head.bounded, *head.auxiliary, *head.variables]
    if findings:
        return None, names, findings
    table = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(names))
    return table, names, []
