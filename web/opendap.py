"""OPeNDAP (DAP2) answers of one stored NetCDF file, built with pydap's server pieces.

pydap (3.5+) supplies the data model (`DatasetType`, `BaseType`), the constraint-expression
parser, the projection with index ranges (hyperslabs) and the DDS, DAS and DODS encoders;
FieldCat supplies the values, read lazily through `formats.netcdf_read` (so under the HDF5
lock, one slice at a time) instead of pydap's own NetCDF handler, which would enter
netCDF-C without it. pydap's WSGI handler is not used: the access check, the errors and the
streaming are the node's own.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

from catalog.errors import InvalidQueryError
from formats.netcdf_read import StoredLayout, StoredVariable, netcdf_layout, read_values

DapAnswer = Literal["dds", "das", "dods", "ascii"]
DAP_ANSWERS: tuple[DapAnswer, ...] = ("dds", "das", "dods", "ascii")
MEDIA_TYPES: dict[DapAnswer, str] = {
    "dds": "text/plain; charset=utf-8",
    "das": "text/plain; charset=utf-8",
    "dods": "application/octet-stream",
    "ascii": "text/plain; charset=utf-8",
}
DESCRIPTIONS: dict[DapAnswer, str] = {
    "dds": "dods_dds", "das": "dods_das", "dods": "dods_data", "ascii": "dods_ascii",
}  # fmt: skip
BUFFER_BYTES = 32 << 20
"""Bytes of values read from the file per block of a data answer (pydap's Arrayterator):
each block opens the file and decompresses the chunks it overlaps, so blocks are large
(8 blocks of 1 MiB made reading a compressed 1,000,000-row variable 5x slower than one)."""


class LazyValues:
    """A variable's values, read from the file only for the slices asked for."""

    def __init__(self, path: Path, variable: StoredVariable) -> None:
        import numpy as np

        self.path = path
        self.name = variable.name
        self.shape = variable.shape
        self.dtype = np.dtype(variable.dtype)
        self.ndim = len(self.shape)

    def __len__(self) -> int:
        return self.shape[0] if self.shape else 1

    def __getitem__(self, key: Any) -> Any:
        key = key if isinstance(key, tuple) else (key,)
        plain = len(key) == self.ndim and all(isinstance(k, slice) for k in key)
        if plain:
            return read_values(self.path, self.name, key)
        return read_values(self.path, self.name, ())[key]


def _dataset(path: Path, name: str, layout: StoredLayout) -> Any:
    from pydap.model import BaseType, DatasetType

    dataset = DatasetType(name, attributes={"NC_GLOBAL": dict(layout.attributes)})
    for var in layout.variables:
        dataset[var.name] = BaseType(
            var.name, data=LazyValues(path, var), dims=var.dims, attributes=dict(var.attributes)
        )
    return dataset


def _constrained(dataset: Any, query: str) -> Any:
    """The dataset reduced to the projection (with index ranges) of a DAP2 query."""
    from pydap.exceptions import ConstraintExpressionError
    from pydap.handlers.lib import apply_projection, wrap_arrayterator
    from pydap.lib import fix_shorthand
    from pydap.parsers import parse_ce

    try:
        projection, selection = parse_ce(query)
        if selection:
            raise InvalidQueryError(
                "selections (&...) apply to sequences; these data are arrays: subset them "
                "with index ranges, e.g. ?time[0:1:99],O3[0:1:99]"
            )
        wrapped = wrap_arrayterator(copy.copy(dataset), BUFFER_BYTES)
        names = list(wrapped.keys())
        projection = fix_shorthand(projection, wrapped) or [[(key, ())] for key in names]
        for item in projection:
            _check_item(item, wrapped)
        return apply_projection(projection, wrapped)
    except (ConstraintExpressionError, KeyError, IndexError, ValueError, TypeError) as err:
        raise InvalidQueryError(f"bad constraint expression {unquote(query)!r}: {err}") from err


def _check_item(item: Any, dataset: Any) -> None:
    """InvalidQueryError unless `item` is a known variable with index ranges inside it."""
    if isinstance(item, str) or len(item) != 1 or item[0][0] not in dataset.keys():  # noqa: SIM118
        known = ", ".join(dataset.keys())
        raise InvalidQueryError(f"unknown variable or function {item!r}; these data have: {known}")
    name, slices = item[0]
    shape = dataset[name].shape
    if slices and len(slices) != len(shape):
        raise InvalidQueryError(f"{name} has {len(shape)} dimension(s), not {len(slices)}")
    for index, size in zip(slices, shape, strict=False):
        start, stop = index.start or 0, size if index.stop is None else index.stop
        if not 0 <= start < stop <= size or (index.step or 1) < 1:
            raise InvalidQueryError(f"index range of {name} outside 0..{size - 1}")


def dap_answer(
    path: Path, name: str, answer: DapAnswer, query: str
) -> Iterator[bytes | memoryview]:
    """The bytes of one DAP2 answer (`dds`, `das`, `dods`, or `ascii`: the values as text,
    the unofficial answer OPeNDAP servers give to `curl`) for constraint `query`.

    The constraint is checked before the first byte (a bad one raises InvalidQueryError);
    a data answer then reads the file block by block as it is sent."""
    from pydap.responses.das import das
    from pydap.responses.dds import dds

    dataset = _dataset(path, name, netcdf_layout(path))
    if answer == "das":
        return iter(["".join(das(dataset)).encode()])
    constrained = _constrained(dataset, query)
    header = "".join(dds(constrained)).encode()
    if answer == "dds":
        return iter([header])
    if answer == "ascii":
        return _text(header, constrained)
    return _data(header, constrained)


def _data(header: bytes, constrained: Any) -> Iterator[bytes | memoryview]:
    from pydap.model import BaseType
    from pydap.responses.dods import dods

    yield header + b"Data:\n"
    for var in constrained.children():
        if isinstance(var, BaseType) and var.dtype.kind in "iuf":
            yield from _xdr(var)
        else:
            yield from dods(var)


def _xdr(var: Any) -> Iterator[bytes | memoryview]:
    """A numeric variable as DAP2 XDR: its length twice, then its values big-endian, each
    block converted in one NumPy pass and sent without a copy to bytes (pydap's encoder
    converts, then copies)."""
    import numpy as np
    from pydap.responses.dods import DAP2_response_dtypemap

    wire = DAP2_response_dtypemap(var.dtype)
    size = int(np.prod(var.shape))
    if var.shape:
        yield np.array([size, size], ">i4").tobytes()
    for block in var.data if var.shape else [var.data[...]]:
        values = np.ascontiguousarray(np.asarray(block).astype(wire, copy=False))
        yield memoryview(values.reshape(-1).view(np.uint8).data)
    if wire == np.ubyte:
        yield (-size % 4) * b"\0"


def _text(header: bytes, constrained: Any) -> Iterator[bytes]:
    import numpy as np
    from pydap.lib import walk
    from pydap.model import BaseType
    from pydap.responses.ascii import ascii

    for var in walk(constrained, BaseType):  # pydap's text encoder wants plain arrays
        data = var.data
        while isinstance(data, BaseType):  # a sliced variable holds a sliced variable
            data = data.data
        var.data = np.asarray(data)
    yield header + b"-" * 45 + b"\n"
    for line in ascii(constrained):
        yield line.encode()
