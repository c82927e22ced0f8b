"""Context builders of the pages: one catalog service call each, plus presentation."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from catalog.access import RELEASING_STATES, AccessState
from catalog.citations import CITATION_FORMATS, citation_text
from catalog.dataset_sections import dataset_sections
from catalog.download_formats import DOWNLOAD_FORMATS
from catalog.errors import NotFoundError
from catalog.plots import plot_pages_of
from catalog.registration import default_release_at
from catalog.schemas import (
    FACET_NAMES,
    DatasetDetail,
    DatasetSummary,
    Principal,
    SearchPage,
    SearchParams,
)
from catalog.search import get_dataset_view
from catalog.storage import ArchiveStore
from catalog.submission_records import find_campaign
from catalog.vouched import person
from field_catalog_ui.forms import (
    PAGE_SIZES,
    FormResult,
    SearchLinks,
    local_input,
    query_text,
    small_count,
)
from field_catalog_ui.metadata import dataset_jsonld
from submissions.service import dataset_products
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
    "level": "Processing level",
}
SORT_LABELS = {
    "relevance": "Best match (newest first without text)",
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
CITATION_EXPORTS = {"bibtex": "BibTeX", "ris": "RIS", "datacite-json": "DataCite JSON"}
assert set(CITATION_EXPORTS) < set(CITATION_FORMATS)
ACCESS_LABELS = {
    "open": "Open",
    "embargoed": "Embargoed",
    "password": "Password protected",
    "campaign": "Campaign PIs only",
    "private": "Private",
    "withdrawn": "Withdrawn",
}


def _is_open(d: DatasetSummary) -> bool:
    return d.access_state == AccessState.OPEN.value


def map_features(
    items: Sequence[DatasetSummary], track: Callable[[DatasetSummary], bool] = _is_open
) -> list[dict[str, Any]]:
    """What the coverage map draws: each dataset's box, title and link, and where its track
    is when `track` says the caller may read it (by default: open data; the track route
    applies the data policy to the rest anyway)."""
    return [
        {
            "id": d.public_id,
            "title": d.title,
            "bbox": list(d.bbox),
            "url": f"/datasets/{d.public_id}",
            "track": f"{API_LINKS.dataset(d.public_id)}/track" if track(d) else None,
        }
        for d in items
        if d.bbox is not None
    ]


MAX_VARIABLES_SHOWN = 6


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One compact result row: short facts, a thumbnail of the quick look when open."""

    d: DatasetSummary
    variables: str
    thumbnail: str | None


def result_rows(items: list[DatasetSummary]) -> list[ResultRow]:
    """The compact result rows of `items`."""
    rows = []
    for d in items:
        shown = d.variables[:MAX_VARIABLES_SHOWN]
        more = len(d.variables) - len(shown)
        open_data = d.access_state == AccessState.OPEN.value
        variables = ", ".join(shown) + (f" +{more} more" if more else "")
        thumbnail = API_LINKS.dataset(d.public_id, "plot") if open_data else None
        rows.append(ResultRow(d, variables, thumbnail))
    return rows


# The search page's parts are slotted dataclasses rather than dicts: Jinja looks `x.name` up
# as an attribute first, and on a dict that fails (an exception) before the item is tried.


@dataclass(frozen=True, slots=True)
class StripBar:
    """One bar of the time strip: its days, count, height (percent of the tallest), link."""

    start: str
    end: str
    count: int
    height: float
    url: str
    selected: bool


@dataclass(frozen=True, slots=True)
class TimeStripView:
    """The time strip's bars and the first and last day they cover."""

    bars: list[StripBar]
    first: str
    last: str


def strip_context(bins: list[Any], form: FormResult) -> TimeStripView:
    """The time strip's bars and their filter links."""
    tallest = max((b.count for b in bins), default=0) or 1
    values = form.values
    links = SearchLinks(values)
    chosen = bool(values.get("start") or values.get("end"))
    low, high = values.get("start") or "", values.get("end") or "9999"
    bars = []
    for b in bins:
        start, end = b.start.date().isoformat(), b.end.date().isoformat()
        url = links.url(start=start, end=end)
        selected = chosen and low <= end and start <= high
        bars.append(StripBar(start, end, b.count, round(100 * b.count / tallest, 1), url, selected))
    return TimeStripView(bars, bars[0].start if bars else "", bars[-1].end if bars else "")


@dataclass(frozen=True, slots=True)
class FacetEntry:
    """One value of a facet: its label, count, and the link that adds (or removes) it."""

    value: str
    label: str
    count: int
    active: bool
    url: str


@dataclass(frozen=True, slots=True)
class FacetGroup:
    """One facet's values."""

    name: str
    label: str
    entries: list[FacetEntry]


def _facets(links: SearchLinks, values: dict[str, str], result: SearchPage) -> list[FacetGroup]:
    groups = []
    for name in FACET_NAMES:
        counts = result.facets.get(name) or []
        if not counts:
            continue
        active = values.get(name, "").lower()
        # The rest of the query is the same for every value of a facet: encode it once.
        rest = links.url(**{name: None})
        joiner = "&" if "?" in rest else "?"
        labels = ACCESS_LABELS if name == "access" else {}
        entries = []
        for c in counts:
            is_active = c.value.lower() == active
            url = rest if is_active else f"{rest}{joiner}{name}={query_text(c.value)}"
            label = labels.get(c.value, c.value)
            entries.append(FacetEntry(c.value, label, c.count, is_active, url))
        groups.append(FacetGroup(name, FACET_LABELS[name], entries))
    return groups


@dataclass(frozen=True, slots=True)
class ActiveFilter:
    """A filter in use, and the link that removes it."""

    label: str
    value: str
    url: str


def _active_filters(links: SearchLinks, values: dict[str, str]) -> list[ActiveFilter]:
    labels = {"q": "Text", "start": "From", "end": "Until", **FACET_LABELS}
    found = [
        ActiveFilter(label, values[name], links.url(**{name: None}))
        for name, label in labels.items()
        if values.get(name)
    ]
    if values.get("west"):
        box = ", ".join(values[n] for n in ("west", "south", "east", "north"))
        url = links.url(west=None, south=None, east=None, north=None)
        found.append(ActiveFilter("Box (W, S, E, N)", box, url))
    return found


def search_context(
    params: SearchParams, form: FormResult, result: SearchPage, query: Mapping[str, str]
) -> dict[str, Any]:
    """Everything the search page shows for one page of results."""
    values = form.values
    links = SearchLinks(values)  # the form's values hold no cursor nor page number
    page_no = small_count(str(query.get("page", ""))) or 1
    page_no = max(page_no, 1)
    first = (page_no - 1) * params.limit
    next_url = None
    if result.next_cursor:
        next_url = links.url(cursor=result.next_cursor, page=str(page_no + 1))
    title = "Search" if page_no == 1 else f"Search, page {page_no}"
    return {
        "title": title,
        "params": params,
        "values": values,
        "errors": form.errors,
        "result": result,
        "facets": _facets(links, values, result),
        "active_filters": _active_filters(links, values),
        "page_no": page_no,
        "first_index": first + 1,
        "last_index": first + len(result.items),
        "next_url": next_url,
        "first_url": links.url() if page_no > 1 else None,
        "map_features": map_features(result.items),
        "rows": result_rows(result.items),
        "orders_url": API_LINKS.orders(),
        "search_query": params.model_dump(
            mode="json", exclude={"cursor", "limit", "facets"}, exclude_none=True
        ),
        "sort_labels": SORT_LABELS,
        "page_sizes": PAGE_SIZES,
        "access_labels": ACCESS_LABELS,
    }


def dataset_context(
    session: Session,
    store: ArchiveStore,
    public_id: str,
    principal: Principal,
    now: datetime,
    node: Settings,
) -> dict[str, Any]:
    """Everything the dataset page shows but the staff's part (`staff_context`); NotFoundError
    when the caller may not know of it."""
    view = get_dataset_view(session, public_id, principal, now, API_LINKS)
    detail, readable, cited = view.detail, view.readable, view.citation
    plots = plot_pages_of(store, view.dataset, principal, now, mirrored=detail.is_mirror)
    sections = dataset_sections(session, view.dataset, principal, now)
    base = node.public_url
    data_open = detail.access_state == AccessState.OPEN.value
    return {
        "title": detail.title,
        "d": detail,
        "readable": readable,
        "access_label": ACCESS_LABELS.get(detail.access_state, detail.access_state),
        "may_ask": not readable and person(principal, node.center_code) is not None,
        "citation": citation_text(cited),
        "origin_page": cited.url if detail.is_mirror else None,
        "citation_formats": CITATION_EXPORTS,
        "jsonld": dataset_jsonld(
            detail,
            center_name=node.center_name,
            provider=cited.publisher,
            base_url=base,
            data_open=data_open,
        ),
        # This dataset's own track, for whoever may read its data (a mirrored record's
        # file, and so its track, is at its origin).
        "map_features": map_features([detail], lambda _: readable and not detail.is_mirror),
        "plot_pages": plots,
        "products": dataset_products(
            session, store, principal, detail.platform, detail.start, detail.stop, links=API_LINKS
        ),
        "formats": [
            (f, FORMAT_LABELS[f])
            for f in sorted(DOWNLOAD_FORMATS, key=lambda name: name == "original")
        ],
        "default_start": local_input(detail.start),
        "default_end": local_input(detail.stop),
        "download_form": FormResult({}),
        "registry": sections.registry,
        "navigation_merge": sections.navigation_merge,
        "merged_products": sections.merged_products,
    }


def campaign_default_note(default: datetime | None, now: datetime) -> str | None:
    """What leaving the release date empty means, when the campaign's default has passed."""
    if default is None or default > now:
        return None
    return (
        f"The campaign's default release date, {default:%Y-%m-%d}, has passed: an embargo "
        "ending then would open the dataset at once. Choose a later date, or choose “Open”."
    )


def staff_context(
    session: Session,
    detail: DatasetDetail,
    now: datetime,
    form: Mapping[str, str] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """What staff see besides the public page: the audit trail and the access form.

    `form` is what was typed in a refused submission: the state, release date and reason
    come back as typed (never the password); `error` is shown at the top of the form.
    """
    from catalog.audit import dataset_events

    default = campaign_default_release(session, detail)
    release = detail.release_at.strftime("%Y-%m-%dT%H:%M") if detail.release_at else ""
    typed = {"state": detail.access_state, "release_at": release, "reason": ""}
    typed |= dict(form or {})
    return {
        "audit": dataset_events(session, detail.public_id),
        "access_labels": ACCESS_LABELS,
        "access_error": error,
        "access_form": typed,
        "campaign_default": default,
        "campaign_default_note": campaign_default_note(default, now),
        "releasing_states": sorted(s.value for s in RELEASING_STATES),
    }


def campaign_default_release(session: Session, detail: DatasetDetail) -> datetime | None:
    """The release instant the campaign's policy gives this dataset (None: no default)."""
    try:
        campaign = find_campaign(session, detail.campaign)
    except NotFoundError:
        return None
    return default_release_at(campaign, detail.category)
