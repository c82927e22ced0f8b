"""One set of box rules: every place that takes a box accepts and refuses the same boxes."""

from __future__ import annotations

import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from archive_center.routers.bundles import BundleRequest
from archive_center.routers.query import parse_bbox as parse_query_bbox
from catalog.errors import InvalidQueryError
from catalog.search import parse_bbox as parse_search_bbox
from field_catalog_ui.forms import parse_box
from formats.bbox import BBoxError, check_bbox, parse_bbox

edge = st.one_of(
    st.floats(min_value=-200, max_value=200),
    st.sampled_from([-180.0, 180.0, -90.0, 90.0, 0.0, float("nan"), float("inf")]),
)


def _accepted_everywhere(box: tuple[float, float, float, float]) -> list[bool]:
    text = ",".join(repr(v) for v in box)
    verdicts = []
    for attempt in (
        lambda: parse_search_bbox(text),
        lambda: parse_query_bbox(text),
        lambda: BundleRequest(datasets=["a"], bbox=box),
    ):
        try:
            attempt()
            verdicts.append(True)
        except (InvalidQueryError, RequestValidationError, ValidationError):
            verdicts.append(False)
    errors: dict[str, str] = {}
    fields = dict(zip(("west", "south", "east", "north"), (repr(v) for v in box), strict=True))
    verdicts.append(parse_box(fields, errors) is not None and not errors)
    return verdicts


@given(st.tuples(edge, edge, edge, edge))
def test_every_entry_point_agrees_with_the_one_rule(box: tuple[float, float, float, float]) -> None:
    try:
        check_bbox(box)
        expected = True
    except BBoxError:
        expected = False
    assert _accepted_everywhere(box) == [expected] * 4


def test_the_rules() -> None:
    assert parse_bbox("170,-10,-170,10") == (170.0, -10.0, -170.0, 10.0)  # crosses 180
    for text, why in [
        ("1,2,3", "four numbers"),
        ("a,b,c,d", "four numbers"),
        ("nan,0,1,1", "finite"),
        ("-181,0,1,1", "longitudes"),
        ("0,-91,1,1", "latitudes"),
        ("0,10,1,5", "south must not exceed north"),
    ]:
        with pytest.raises(BBoxError, match=why):
            parse_bbox(text)
