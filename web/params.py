"""Path parameter types shared by the API routers and the pages."""

from typing import Annotated

from fastapi import Path

from catalog.sqltypes import INT32_MAX

RowId = Annotated[int, Path(ge=1, le=INT32_MAX, description="a record's id")]
"""A row id in a path: positive and within the database's Integer column."""

ExpectedId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="an expected delivery's id")
]
"""An expected delivery's public id in a path (the API's and the page's)."""
