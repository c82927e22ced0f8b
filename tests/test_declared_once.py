"""Facts written once: the search's parameters and the format names, and who uses them."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

from catalog.download_formats import DOWNLOAD_FORMATS
from catalog.schemas import SearchParams
from formats.registry import WRITER_FORMATS, WRITERS
from web.search_query import SEARCH_QUERY, TEXT_FILTERS, search_query


def test_the_api_takes_exactly_the_search_model_s_parameters() -> None:
    from archive_center.routers.datasets import search_params

    assert set(inspect.signature(search_params).parameters) == set(SEARCH_QUERY)


def test_the_search_form_uses_the_same_names() -> None:
    from field_catalog_ui.forms import BOX_FIELDS, SEARCH_FIELDS

    assert set(SEARCH_FIELDS) == set(SEARCH_QUERY) - {"bbox", "cursor", "facets"} | set(BOX_FIELDS)
    assert set(TEXT_FILTERS) == {
        "q", "platform", "instrument", "pi", "variable", "project", "center", "access", "level",
    }  # fmt: skip


def test_the_cli_sends_only_names_the_api_takes() -> None:
    from archive_center.cli_search import build_query, search_command

    options = set(inspect.signature(search_command).parameters) - {"center", "as_json", "origin"}
    assert options <= set(SEARCH_QUERY)
    query = build_query(
        q="ozone", start="1999-02-01", bbox="60,-10,80,20", center="JOSS", sort="title", limit=7
    )
    assert set(query) <= set(SEARCH_QUERY)
    assert query["limit"] == "7" and query["center"] == "JOSS" and query["bbox"] == "60,-10,80,20"
    assert datetime.fromisoformat(query["start"]) == datetime(1999, 2, 1, tzinfo=UTC)


def test_search_query_round_trips_through_the_model() -> None:
    params = SearchParams(q="o3", start=datetime(1999, 2, 1, tzinfo=UTC), limit=20, facets=False)
    query = search_query(params)
    assert query == {
        "q": "o3", "start": "1999-02-01T00:00:00+00:00", "limit": "20", "facets": "false",
    }  # fmt: skip


def test_format_names_are_declared_once() -> None:
    from archive_center.routers.datasets import DatasetFormat
    from field_catalog_ui.pages import FORMAT_LABELS

    assert set(WRITERS) == set(WRITER_FORMATS)
    assert DOWNLOAD_FORMATS == ("original", *WRITER_FORMATS)
    assert set(FORMAT_LABELS) == set(DOWNLOAD_FORMATS)
    assert DatasetFormat.__args__ == DOWNLOAD_FORMATS  # type: ignore[attr-defined]
