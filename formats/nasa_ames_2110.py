"""NASA Ames FFI 2110 data, flattened to one row per value of the bounded variable.

Each record is X(2), the auxiliary values (the first counts the X(1) values), then that many
groups of X(1) and the primary variables. A row of the flat table is X(2), X(1), the
auxiliary values repeated, then the primary values.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from formats.model import Diagnostic, Severity

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)

MAX_COUNT = 10_000_000
"""More X(1) values than this in one record is not a count."""


def _short(line: int) -> Diagnostic:
    msg = "the data end inside a record"
    return Diagnostic("FMT004", Severity.ERROR, msg, line=line)


def flatten_2110(
    values: Sequence[float], line_of: Sequence[int], naux: int, nprimary: int
) -> tuple[npt.NDArray[np.float64] | None, Diagnostic | None]:
    """The flat (rows x (2 + naux + nprimary)) table, or None and the finding."""
    import numpy as np

    rows: list[list[float]] = []
    at, total, group = 0, len(values), 1 + nprimary
    while at < total:
        if at + 1 + naux > total:
            return None, _short(line_of[-1])
        x2, aux = values[at], list(values[at + 1 : at + 1 + naux])
        count = aux[0]
        if not count.is_integer() or not 0 <= count <= MAX_COUNT:
            msg = f"{count:g} is not a count of X(1) values"
            return None, Diagnostic("FMT004", Severity.ERROR, msg, line=line_of[at + 1])
        at += 1 + naux
        if at + int(count) * group > total:
            return None, _short(line_of[-1])
        for _ in range(int(count)):
            rows.append([x2, values[at], *aux, *values[at + 1 : at + group]])
            at += group
    if not rows:
        return None, Diagnostic("FMT003", Severity.ERROR, "the file has no data rows", line=0)
    return np.asarray(rows, dtype=np.float64), None
