"""DataCite Metadata Schema 4 records of a dataset and of each of its versions.

One record per dataset (the concept: "every version of this dataset") and one per archived
version, linked both ways by related identifiers (`HasVersion`/`IsVersionOf`, and
`IsNewVersionOf`/`IsPreviousVersionOf` between consecutive versions). The publisher is the
origin center. Every record is checked against the DataCite JSON schema the `datacite`
package ships before it is served or sent (`DataCiteInvalid` otherwise), and the XML form is
that package's transformation of the same JSON.

Without a DOI yet (nothing minted, or no credentials configured), a record identifies itself
by its landing-page URL (`identifierType="URL"`), which the DataCite XML schema accepts; the
DOI a mint would give is `planned_doi`, so the record is ready to mint as it stands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from datacite import schema45
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.citations import Citation, citation_for, datacite_creator
from catalog.errors import CatalogError
from catalog.faces_models import DatasetDoi
from catalog.models import Center, Dataset, DatasetVersion
from catalog.schemas import Principal
from catalog.search import load_visible

SCHEMA_VERSION = "http://datacite.org/schema/kernel-4"
KERNEL = "{http://datacite.org/schema/kernel-4}"


class DataCiteInvalid(CatalogError):
    """A record that the DataCite schema refuses (a bug, or a field DataCite cannot take)."""


@dataclass(frozen=True)
class DoiPlan:
    """Where DOIs come from at this center: its prefix (empty when none is configured)."""

    prefix: str = ""

    def concept(self, center: str, public_id: str) -> str:
        """The DOI of the dataset as a whole."""
        return f"{self.prefix}/fieldcat.{center.lower()}.{public_id.lower()}" if self.prefix else ""

    def version(self, center: str, public_id: str, number: int) -> str:
        """The DOI of the dataset's `number`th archived version (1 for the first)."""
        concept = self.concept(center, public_id)
        return f"{concept}.v{number}" if concept else ""


def ordered_versions(dataset: Dataset) -> list[DatasetVersion]:
    """The dataset's versions, oldest first (their numbers are positions in this list)."""
    return sorted(dataset.versions, key=lambda v: (v.created_at, v.id))


def minted_dois(session: Session, dataset: Dataset) -> dict[int | None, DatasetDoi]:
    """The DOIs recorded for the dataset (key None) and its versions (key: version id)."""
    rows = session.scalars(select(DatasetDoi).where(DatasetDoi.dataset_id == dataset.id))
    return {row.version_id: row for row in rows}


def _geo(c: Citation) -> list[dict[str, Any]]:
    if c.bbox is None:
        return []
    west, south, east, north = c.bbox
    if west == east and south == north:
        point = {"pointLongitude": west, "pointLatitude": south}
        return [{"geoLocationPoint": point}]
    box = {
        "westBoundLongitude": west,
        "eastBoundLongitude": east,
        "southBoundLatitude": south,
        "northBoundLatitude": north,
    }
    return [{"geoLocationBox": box}]


def _related(identifier: str, relation: str) -> dict[str, str]:
    kind = "URL" if identifier.startswith("http") else "DOI"
    return {
        "relatedIdentifier": identifier,
        "relatedIdentifierType": kind,
        "relationType": relation,
    }


def rights_statement(dataset: Dataset) -> str:
    """What a reader may do with the data, from the stored access state (no clock needed:
    an embargo's statement names the date it ends)."""
    release = dataset.release_at.date().isoformat() if dataset.release_at else None
    if dataset.access_state == "embargoed" and release:
        return f"Metadata open; data embargoed until {release}, open from then on"
    if dataset.access_state == "password":
        return "Metadata open; data shared with a password from the principal investigator"
    return "Open access to metadata and data"


@dataclass(frozen=True)
class RecordTarget:
    """What one record describes: the dataset (`number` 0) or its `number`th version."""

    citation: Citation
    number: int
    identifier: str
    """Its DOI, or its landing URL while it has none."""
    related: tuple[dict[str, str], ...]
    rights: str


def _base_record(t: RecordTarget) -> dict[str, Any]:
    c = t.citation
    record: dict[str, Any] = {
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "Field campaign data"},
        "creators": [datacite_creator(p) for p in c.authors],
        "titles": [{"title": c.title}],
        "publisher": {"name": c.publisher},
        "publicationYear": str(c.year),
        "subjects": [{"subject": s} for s in (c.campaign, c.platform, c.instrument) if s],
        "dates": [
            {"date": c.archived_at.date().isoformat(), "dateType": "Issued"},
            {"date": f"{c.start.isoformat()}/{c.stop.isoformat()}", "dateType": "Collected"},
        ],
        "alternateIdentifiers": [
            {"alternateIdentifier": c.public_id, "alternateIdentifierType": "FieldCat"}
        ]
        + (
            [{"alternateIdentifier": c.did, "alternateIdentifierType": "Campaign DID"}]
            if c.did
            else []
        ),
        "relatedIdentifiers": list(t.related),
        "rightsList": [{"rights": t.rights}],
        "geoLocations": _geo(c),
        "schemaVersion": SCHEMA_VERSION,
    }
    if c.summary:
        record["descriptions"] = [{"description": c.summary, "descriptionType": "Abstract"}]
    if t.number and c.version:
        record["version"] = c.version
    if t.identifier.startswith("10."):
        record["doi"] = t.identifier
    if c.url:
        record["url"] = c.url if not t.number else f"{c.url}#version-{t.number}"
    return {k: v for k, v in record.items() if v not in ([], None)}


def check_record(record: dict[str, Any]) -> dict[str, Any]:
    """The record, after the DataCite JSON schema accepted it (else `DataCiteInvalid`)."""
    if not schema45.validate(record):
        errors = sorted(schema45.validator.iter_errors(record), key=str)
        raise DataCiteInvalid(f"DataCite schema refuses the record: {errors[0].message}")
    return record


def record_element(record: dict[str, Any]) -> etree._Element:
    """An already checked record as a DataCite XML (kernel 4) element; a record without a
    DOI names its URL."""
    root: etree._Element = schema45.dump_etree(record)
    if root.find(f"{KERNEL}identifier") is None:
        identifier = etree.Element(f"{KERNEL}identifier", identifierType="URL")
        identifier.text = record.get("url", "")
        root.insert(0, identifier)
    return root


def record_xml(record: dict[str, Any]) -> bytes:
    """The record as DataCite XML (kernel 4), after the schema accepted it."""
    root = record_element(check_record(record))
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data


@dataclass(frozen=True)
class DataCiteSet:
    """The records of a dataset: the concept's, then one per version (oldest first)."""

    concept: dict[str, Any]
    versions: list[dict[str, Any]]
    dois: dict[int, str]
    """Number (0 the concept, 1.. the versions) -> the DOI recorded for it."""


def _identifier(doi: str, url: str, number: int) -> str:
    if doi:
        return doi
    return f"{url}#version-{number}" if number else url


def _identifiers(
    dataset: Dataset, url: str, versions: list[DatasetVersion], dois: dict[int, str]
) -> dict[int, str]:
    return {n: _identifier(dois.get(n, ""), url, n) for n in range(len(versions) + 1)}


def concept_record(
    dataset: Dataset, origin: Center | None, minted: Mapping[int | None, str]
) -> dict[str, Any]:
    """The record of the dataset as a whole (checked), from its recorded DOIs `minted`
    (version id, or None for the dataset, -> DOI): what OAI-PMH's `datacite` serves."""
    versions = ordered_versions(dataset)
    cited = citation_for(dataset, origin, doi=minted.get(None, ""))
    dois = {0: minted.get(None, "")}
    dois |= {n: minted.get(v.id, "") for n, v in enumerate(versions, 1)}
    ids = _identifiers(dataset, cited.url, versions, dois)
    related = tuple(_related(ids[n], "HasVersion") for n in range(1, len(versions) + 1))
    target = RecordTarget(cited, 0, ids[0], related, rights_statement(dataset))
    return check_record(_base_record(target))


def datacite_set(
    session: Session,
    dataset: Dataset,
    origin: Center | None,
    plan: DoiPlan,
    *,
    planned: bool = False,
) -> DataCiteSet:
    """Every DataCite record of `dataset` (checked against the schema), linked to each other.

    `planned` (for a mint) names the DOIs `plan` would give where none is recorded yet;
    otherwise only recorded DOIs appear, so no record names a DOI that does not resolve.
    """
    versions = ordered_versions(dataset)
    minted = minted_dois(session, dataset)
    url = citation_for(dataset, origin).url
    center, public_id = dataset.origin_center, dataset.public_id
    dois = {0: minted[None].doi if None in minted else ""}
    dois |= {n: minted[v.id].doi if v.id in minted else "" for n, v in enumerate(versions, 1)}
    if planned:
        dois[0] = dois[0] or plan.concept(center, public_id)
        for n in range(1, len(versions) + 1):
            dois[n] = dois[n] or plan.version(center, public_id, n)
    ids = {n: _identifier(doi, url, n) for n, doi in dois.items()}
    rights = rights_statement(dataset)
    concept = RecordTarget(
        citation_for(dataset, origin),
        0,
        ids[0],
        tuple(_related(ids[n], "HasVersion") for n in range(1, len(versions) + 1)),
        rights,
    )
    records = []
    for n, version in enumerate(versions, 1):
        related = [_related(ids[0], "IsVersionOf")]
        if n > 1:
            related.append(_related(ids[n - 1], "IsNewVersionOf"))
        if n < len(versions):
            related.append(_related(ids[n + 1], "IsPreviousVersionOf"))
        cited = citation_for(dataset, origin, version)
        target = RecordTarget(cited, n, ids[n], tuple(related), rights)
        records.append(check_record(_base_record(target)))
    return DataCiteSet(check_record(_base_record(concept)), records, dois)


def visible_records(
    session: Session, public_id: str, principal: Principal, now: datetime, plan: DoiPlan
) -> DataCiteSet:
    """The DataCite records of a dataset the caller may see (NotFoundError otherwise)."""
    dataset = load_visible(session, public_id, principal, now)
    origin = session.scalars(select(Center).where(Center.code == dataset.origin_center)).first()
    return datacite_set(session, dataset, origin, plan)
