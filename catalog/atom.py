"""Atom feeds (RFC 4287) of a search: the newest new and changed datasets the caller may see.

The feed runs the JSON search's own clauses (`catalog.search.filter_clauses`, the access
policy first), newest change first, so a feed never lists what its reader may not see; each
entry carries public metadata only (title, PIs, summary, access state, extent) and links to
the dataset's page and JSON record, never to data a reader might not be allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import effective_state
from catalog.citations import parse_people
from catalog.models import Dataset
from catalog.schemas import Principal, SearchParams
from catalog.search import filter_clauses

ATOM = "http://www.w3.org/2005/Atom"
GEORSS = "http://www.georss.org/georss"


@dataclass(frozen=True)
class FeedInfo:
    """What names a feed: its own URL, the page it stands for, its title, the API's paths."""

    self_url: str
    page_url: str
    title: str
    base_url: str
    api_dataset: str
    """The API path of a dataset's record with `{id}` for its public id."""


def feed_datasets(
    session: Session, params: SearchParams, principal: Principal, now: datetime, size: int
) -> list[Dataset]:
    """The `size` most recently changed datasets of the search, as the caller may see them."""
    clauses = filter_clauses(session, params, principal, now)
    query = (
        select(Dataset)
        .where(*clauses)
        .order_by(Dataset.updated.desc(), Dataset.public_id.desc())
        .limit(size)
    )
    return list(session.scalars(query))


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _e(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    child = etree.SubElement(parent, f"{{{ATOM}}}{name}", **attrs)
    if text is not None:
        child.text = text
    return child


def _entry(feed: etree._Element, dataset: Dataset, info: FeedInfo, now: datetime, doi: str) -> None:
    entry = _e(feed, "entry")
    page = f"{info.base_url}/datasets/{dataset.public_id}"
    _e(entry, "id", page)
    _e(entry, "title", dataset.title or f"{dataset.platform} {dataset.instrument}")
    _e(entry, "updated", _stamp(dataset.updated))
    _e(entry, "published", _stamp(dataset.created))
    for person in parse_people(dataset.pi_name):
        _e(_e(entry, "author"), "name", person.name)
    state = effective_state(dataset, now).value
    release = (
        f" until {dataset.release_at.date().isoformat()}"
        if state == "embargoed" and dataset.release_at
        else ""
    )
    text = (
        f"{dataset.platform}, {dataset.instrument}, {_stamp(dataset.start)} to "
        f"{_stamp(dataset.stop)}. Access: {state}{release}. {dataset.summary or ''}"
    )
    _e(entry, "summary", text.strip())
    _e(entry, "category", term=dataset.campaign.code, label="campaign")
    _e(entry, "link", rel="alternate", type="text/html", href=page)
    record = info.base_url + info.api_dataset.format(id=dataset.public_id)
    _e(entry, "link", rel="related", type="application/json", href=record)
    if doi:
        _e(
            entry,
            "link",
            rel="related",
            type="text/html",
            href=f"https://doi.org/{doi}",
            title="DOI",
        )
    if None not in (dataset.south, dataset.west, dataset.north, dataset.east):
        box = etree.SubElement(entry, f"{{{GEORSS}}}box")
        box.text = f"{dataset.south} {dataset.west} {dataset.north} {dataset.east}"


def atom_feed(
    datasets: list[Dataset], info: FeedInfo, now: datetime, dois: dict[int, str]
) -> bytes:
    """The feed document of `datasets` (newest first), with the DOIs of those that have one."""
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM, "georss": GEORSS})
    _e(feed, "id", info.self_url)
    _e(feed, "title", info.title)
    _e(feed, "updated", _stamp(datasets[0].updated if datasets else now))
    _e(feed, "link", rel="self", type="application/atom+xml", href=info.self_url)
    _e(feed, "link", rel="alternate", type="text/html", href=info.page_url)
    _e(_e(feed, "author"), "name", info.title.split(":")[0])
    _e(feed, "generator", "FieldCat")
    for dataset in datasets:
        _entry(feed, dataset, info, now, dois.get(dataset.id, ""))
    data: bytes = etree.tostring(feed, xml_declaration=True, encoding="UTF-8")
    return data
