"""OAI-PMH headers and records of a page's rows, in `oai_dc`, `datacite` or `iso19115-3`.

`Records` gathers once per answer what every record of a page reads beside its own row: the
origin centers, the page's recorded DOIs (one query) and, for `datacite` only (its record
relates every version), the page's datasets with their versions (one more query).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from catalog.access import effective_state
from catalog.access_states import AccessState
from catalog.citations import Citation, cite
from catalog.datacite_records import concept_record, record_element
from catalog.faces_models import DatasetDoi
from catalog.iso19115 import iso_record
from catalog.models import Center, Dataset
from catalog.oai import DC, FORMATS, OAI, OAI_DC, XSI, Repository, stamp, sub
from catalog.oai_rows import RecordRow
from catalog.stac import slug


@dataclass
class Records:
    """What the records of one answer read beside their rows."""

    repo: Repository
    prefix: str
    now: datetime
    origins: Mapping[str, Center] = field(default_factory=dict)
    dois: Mapping[int, dict[int | None, str]] = field(default_factory=dict)
    """Dataset id -> version id (None: the dataset as a whole) -> recorded DOI."""
    loaded: Mapping[int, Dataset] = field(default_factory=dict)
    """Dataset id -> the dataset with its versions (`datacite` only)."""


def records_for(
    session: Session, rows: Sequence[RecordRow], repo: Repository, prefix: str, now: datetime
) -> Records:
    """The `Records` of a page of `rows` in `prefix`."""
    loaded: dict[int, Dataset] = {}
    if prefix == "datacite" and rows:
        query = (
            select(Dataset)
            .where(Dataset.id.in_([row.id for row in rows]))
            .options(selectinload(Dataset.versions))
        )
        loaded = {dataset.id: dataset for dataset in session.scalars(query)}
    origins = {center.code: center for center in session.scalars(select(Center))}
    return Records(repo, prefix, now, origins, record_dois(session, rows), loaded)


def record_dois(session: Session, rows: Sequence[RecordRow]) -> dict[int, dict[int | None, str]]:
    """The recorded DOIs of `rows` (dataset id -> version id or None -> DOI), in one query."""
    found: dict[int, dict[int | None, str]] = {}
    query = select(DatasetDoi.dataset_id, DatasetDoi.version_id, DatasetDoi.doi).where(
        DatasetDoi.dataset_id.in_([d.id for d in rows])
    )
    for dataset_id, version_id, doi in session.execute(query):
        found.setdefault(dataset_id, {})[version_id] = doi
    return found


def _deleted(dataset: RecordRow) -> bool:
    return dataset.access_state == AccessState.WITHDRAWN.value


def header(parent: etree._Element, dataset: RecordRow, repo: Repository) -> None:
    """A record's header: identifier, datestamp, sets; status="deleted" when withdrawn.

    A deleted header names no set: a withdrawn dataset's metadata (its platform among them)
    is for staff only, and a set name is metadata.
    """
    head = sub(parent, f"{{{OAI}}}header")
    deleted = _deleted(dataset)
    if deleted:
        head.set("status", "deleted")
    sub(head, f"{{{OAI}}}identifier", repo.identifier(dataset.public_id))
    sub(head, f"{{{OAI}}}datestamp", stamp(dataset.updated))
    for spec in [] if deleted else set_specs(dataset):
        sub(head, f"{{{OAI}}}setSpec", spec)


def set_specs(dataset: RecordRow) -> list[str]:
    """The sets a dataset belongs to."""
    return [
        f"campaign:{slug(dataset.cited.campaign_code)}",
        f"center:{slug(dataset.origin_center)}",
        f"platform:{slug(dataset.platform_key or dataset.platform)}",
    ]


def dublin_core(c: Citation, variables: Sequence[str], access: str) -> etree._Element:
    """The `oai_dc` record of a dataset."""
    root = etree.Element(f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI_DC} {FORMATS['oai_dc'][0]}")
    values: list[tuple[str, str]] = [("title", c.title)]
    values += [("creator", p.name) for p in c.authors]
    values += [("subject", s) for s in (c.campaign, c.platform, c.instrument, *variables) if s]
    values += [("description", c.summary)] if c.summary else []
    values += [
        ("publisher", f"{c.publisher} ({c.publisher_code})"),
        ("date", c.archived_at.date().isoformat()),
        ("type", "Dataset"),
    ]
    values += [("identifier", f"https://doi.org/{c.doi}")] if c.doi else []
    values += [("identifier", c.url)] if c.url else []
    values += [("coverage", f"{stamp(c.start)}/{stamp(c.stop)}")]
    if c.bbox is not None:
        w, s, e, n = c.bbox
        values.append(("coverage", f"westlimit={w}; southlimit={s}; eastlimit={e}; northlimit={n}"))
    values.append(("rights", f"Access: {access}"))
    for name, value in values:
        sub(root, f"{{{DC}}}{name}", value)
    return root


def metadata(row: RecordRow, records: Records) -> etree._Element:
    """A dataset's record in `records.prefix` (one of `FORMATS`)."""
    origin = records.origins.get(row.origin_center)
    dois = records.dois.get(row.id, {})
    if records.prefix == "datacite":  # relates every version: read from the loaded dataset
        return record_element(concept_record(records.loaded[row.id], origin, dois))
    cited = cite(row, row.cited, origin, dois.get(row.version_id) or dois.get(None) or row.doi)
    if records.prefix == "oai_dc":
        return dublin_core(cited, row.variables, effective_state(row, records.now).value)
    return iso_record(cited, row.variables, row.updated)


def record(parent: etree._Element, row: RecordRow, records: Records) -> None:
    """One `record`: header, and metadata unless deleted."""
    element = sub(parent, f"{{{OAI}}}record")
    header(element, row, records.repo)
    if not _deleted(row):
        sub(element, f"{{{OAI}}}metadata").append(metadata(row, records))
