"""Context builders of the pages: one catalog service call each, plus presentation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from sqlalchemy.orm import Session

from catalog.access import AccessState
from catalog.downloads import DOWNLOAD_FORMATS
from catalog.schemas import FACET_NAMES, DatasetSummary, Principal, SearchPage, SearchParams
from catalog.search import get_dataset_with_access
from field_catalog_ui.forms import PAGE_SIZES, FormResult, local_input, search_url
from field_catalog_ui.metadata import citation, dataset_jsonld
from web.links import API_LINKS
from web.settings import Settings

FACET_LABELS = {
    "platform": "Platform",
    "instrument": "Instrument",
    "pi": "PI",
    "variable": "Variable",
    "center": "Center",
    "access": "Access",
    "project": "Project",
}
SORT_LABELS = {
    "-start": "Newest first",
    "start": "Oldest first",
    "title": "Title",
    "pi": "PI",
    "platform": "Platform",
    "updated": "Recently updated",
}
FORMAT_LABELS = {
    "netcdf": "NetCDF (CF-1.8)",
    "csv": "CSV",
    "header": "Campaign header format",
    "icartt": "ICARTT",
    "original": "Original file as submitted",
}
ACCESS_LABELS = {
    "open": "Open",
    "embargoed": "Embargoed",
    "password": "Password protected",
    "private": "Private",
    "withdrawn": "Withdrawn",
}


def map_features(items: list[DatasetSummary]) -> list[dict[str, Any]]:
    """What the coverage map draws: each dataset's box, title and link."""
    return [
        {
            "id": d.public_id,
            "title": d.title,
            "bbox": list(d.bbox),
            "url": f"/datasets/{d.public_id}",
        }
        for d in items
        if d.bbox is not None
    ]


def _facets(values: dict[str, str], result: SearchPage) -> list[dict[str, Any]]:
    groups = []
    for name in FACET_NAMES:
        counts = result.facets.get(name) or []
        if not counts:
            continue
        active = values.get(name, "").lower()
        # The rest of the query is the same for every value of a facet: encode it once.
        rest = search_url(values, **{name: None}, cursor=None, page=None)
        joiner = "&" if "?" in rest else "?"
        entries = [
            {
                "value": c.value,
                "label": ACCESS_LABELS.get(c.value, c.value) if name == "access" else c.value,
                "count": c.count,
                "active": c.value.lower() == active,
                "url": rest
                if c.value.lower() == active
                else f"{rest}{joiner}{name}={quote_plus(c.value)}",
            }
            for c in counts
        ]
        groups.append({"name": name, "label": FACET_LABELS[name], "entries": entries})
    return groups


def _active_filters(values: dict[str, str]) -> list[dict[str, str]]:
    labels = {"q": "Text", "start": "From", "end": "Until", **FACET_LABELS}
    found = [
        {
            "label": label,
            "value": values[name],
            "url": search_url(values, **{name: None}, cursor=None, page=None),
        }
        for name, label in labels.items()
        if values.get(name)
    ]
    if values.get("west"):
        box = ", ".join(values[n] for n in ("west", "south", "east", "north"))
        url = search_url(
            values, west=None, south=None, east=None, north=None, cursor=None, page=None
        )
        found.append({"label": "Box (W, S, E, N)", "value": box, "url": url})
    return found


def search_context(
    params: SearchParams, form: FormResult, result: SearchPage, query: Mapping[str, str]
) -> dict[str, Any]:
    """Everything the search page shows for one page of results."""
    values = form.values
    page_no = int(query["page"]) if str(query.get("page", "")).isdigit() else 1
    page_no = max(page_no, 1)
    first = (page_no - 1) * params.limit
    next_url = None
    if result.next_cursor:
        next_url = search_url(values, cursor=result.next_cursor, page=str(page_no + 1))
    title = "Search" if page_no == 1 else f"Search, page {page_no}"
    return {
        "title": title,
        "params": params,
        "values": values,
        "errors": form.errors,
        "result": result,
        "facets": _facets(values, result),
        "active_filters": _active_filters(values),
        "page_no": page_no,
        "first_index": first + 1,
        "last_index": first + len(result.items),
        "next_url": next_url,
        "first_url": search_url(values, cursor=None, page=None) if page_no > 1 else None,
        "map_features": map_features(result.items),
        "sort_labels": SORT_LABELS,
        "page_sizes": PAGE_SIZES,
        "access_labels": ACCESS_LABELS,
    }


def dataset_context(
    session: Session, public_id: str, principal: Principal, now: datetime, node: Settings
) -> dict[str, Any]:
    """Everything the dataset page shows; NotFoundError when the caller may not know of it."""
    detail, readable = get_dataset_with_access(session, public_id, principal, now, API_LINKS)
    base = node.public_url
    data_open = detail.access_state == AccessState.OPEN.value
    return {
        "title": detail.title,
        "d": detail,
        "readable": readable,
        "access_label": ACCESS_LABELS.get(detail.access_state, detail.access_state),
        "citation": citation(detail, center_name=node.center_name, base_url=base, today=now),
        "jsonld": dataset_jsonld(
            detail, center_name=node.center_name, base_url=base, data_open=data_open
        ),
        "map_features": map_features([detail]),
        "formats": [
            (f, FORMAT_LABELS[f])
            for f in sorted(DOWNLOAD_FORMATS, key=lambda name: name == "original")
        ],
        "default_start": local_input(detail.start),
        "default_end": local_input(detail.stop),
        "download_form": FormResult({}),
    }


def staff_context(session: Session, public_id: str) -> dict[str, Any]:
    """What staff see besides the public page: the audit trail and the access form's choices."""
    from catalog.audit import dataset_events

    return {
        "audit": dataset_events(session, public_id),
        "access_labels": ACCESS_LABELS,
        "access_error": None,
    }
