"""How to cite a dataset: one record, the same at every center, in four formats.

A citation credits the dataset's origin center (never the center that happens to show a
mirrored copy) and carries the year its cited version was registered at the origin (the
version's `created_at`, which a mirror copies from the origin's change). The dataset page, the
bundle README and every export (`text`, `bibtex`, `ris`, `datacite-json`) are built from
`citation_for`, so they cannot disagree. No access date: the citation of a version is the
same whenever and wherever it is read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, object_session

from catalog.faces_models import DatasetDoi
from catalog.models import Center, Dataset, DatasetVersion

DATACITE_SCHEMA = "http://datacite.org/schema/kernel-4"


@dataclass(frozen=True)
class Person:
    """A PI as written in the header ("Family, Given (Affiliation)"), taken apart."""

    name: str
    family: str
    given: str
    affiliation: str


@dataclass(frozen=True)
class Citation:
    """What every citation format says about one version of a dataset."""

    public_id: str
    did: str
    authors: tuple[Person, ...]
    year: int
    archived_at: datetime
    title: str
    version: str
    campaign: str
    campaign_name: str
    platform: str
    instrument: str
    publisher: str
    publisher_code: str
    url: str
    summary: str
    start: datetime
    stop: datetime
    bbox: tuple[float, float, float, float] | None
    doi: str = ""
    """The DOI of the cited version (or of the dataset, when only it has one); "" when none."""
    level: int = 0
    """The processing level released of the cited version (`catalog.levels`)."""


_DOIS_OF = select(DatasetDoi.version_id, DatasetDoi.doi).where(
    DatasetDoi.dataset_id == bindparam("dataset_id")
)
"""Built once: every dataset page runs it (building a statement costs more than running it)."""


def recorded_doi(dataset: Dataset, version: DatasetVersion | None) -> str:
    """The DOI this center recorded for `version`, else for the dataset as a whole, else ""."""
    session = object_session(dataset)
    if session is None or dataset.id is None:
        return ""
    rows = session.execute(_DOIS_OF, {"dataset_id": dataset.id}).all()
    found = {version_id: doi for version_id, doi in rows}
    wanted = version.id if version is not None else None
    return found.get(wanted) or found.get(None) or ""


def recorded_dois(session: Session, datasets: Sequence[Dataset]) -> dict[int, str]:
    """`recorded_doi` of each of `datasets` (dataset id -> DOI, only those with one), in one
    query: the current version's DOI, else the dataset's."""
    rows = session.execute(
        select(DatasetDoi.dataset_id, DatasetDoi.version_id, DatasetDoi.doi).where(
            DatasetDoi.dataset_id.in_([d.id for d in datasets])
        )
    ).all()
    by_dataset: dict[int, dict[int | None, str]] = {}
    for dataset_id, version_id, doi in rows:
        by_dataset.setdefault(dataset_id, {})[version_id] = doi
    found: dict[int, str] = {}
    for dataset in datasets:
        known = by_dataset.get(dataset.id, {})
        current = next((v.id for v in dataset.versions if v.is_current), None) if known else None
        cited = known.get(current) or known.get(None) or dataset.doi
        if cited:
            found[dataset.id] = cited
    return found


def parse_people(text: str) -> tuple[Person, ...]:
    """PIs from a header field: several split on ';' or ' and '; affiliations in parentheses."""
    people = []
    for part in re.split(r";|\s+and\s+", text or ""):
        part = part.strip()
        if not part:
            continue
        found = re.fullmatch(r"(.*?)\s*\(([^()]*)\)\s*", part)
        name, affiliation = (found.group(1), found.group(2)) if found else (part, "")
        family, _, given = name.partition(",")
        people.append(Person(name.strip(), family.strip(), given.strip(), affiliation.strip()))
    return tuple(people) or (Person("Unknown PI", "Unknown PI", "", ""),)


def cited_version(dataset: Dataset) -> DatasetVersion | None:
    """The version a citation names: the current one."""
    return next((v for v in dataset.versions if v.is_current), None)


class CitedFacts(Protocol):
    """What a citation reads of a dataset row (a `Dataset` or a harvest's plain row)."""

    @property
    def public_id(self) -> str: ...
    @property
    def did(self) -> str | None: ...
    @property
    def pi_name(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def platform(self) -> str: ...
    @property
    def instrument(self) -> str: ...
    @property
    def origin_center(self) -> str: ...
    @property
    def summary(self) -> str | None: ...
    @property
    def start(self) -> datetime: ...
    @property
    def stop(self) -> datetime: ...
    @property
    def west(self) -> float | None: ...
    @property
    def south(self) -> float | None: ...
    @property
    def east(self) -> float | None: ...
    @property
    def north(self) -> float | None: ...
    @property
    def level(self) -> int: ...


@dataclass(frozen=True)
class CitedVersion:
    """The campaign and version facts a citation names beside the dataset's own."""

    campaign_code: str
    campaign_name: str
    archived_at: datetime
    version: str


def cite(facts: CitedFacts, cited: CitedVersion, origin: Center | None, doi: str) -> Citation:
    """The citation of `facts` at `cited`, credited to the origin center."""
    base = origin.base_url.rstrip("/") if origin is not None else ""
    west, south, east, north = facts.west, facts.south, facts.east, facts.north
    bbox = None
    if west is not None and south is not None and east is not None and north is not None:
        bbox = (west, south, east, north)
    return Citation(
        public_id=facts.public_id,
        did=facts.did or "",
        authors=parse_people(facts.pi_name),
        year=cited.archived_at.year,
        archived_at=cited.archived_at,
        title=facts.title or f"{facts.platform} {facts.instrument}",
        version=cited.version,
        campaign=cited.campaign_code,
        campaign_name=cited.campaign_name,
        platform=facts.platform,
        instrument=facts.instrument,
        publisher=origin.name if origin is not None else facts.origin_center,
        publisher_code=facts.origin_center,
        url=f"{base}/datasets/{facts.public_id}" if base else "",
        summary=facts.summary or "",
        start=facts.start,
        stop=facts.stop,
        bbox=bbox,
        doi=doi,
        level=facts.level,
    )


def citation_for(
    dataset: Dataset,
    origin: Center | None,
    version: DatasetVersion | None = None,
    doi: str | None = None,
) -> Citation:
    """The citation of `version` (default: the current one), credited to the origin center.

    `doi`, when the caller already knows it (a harvest loads a page's DOIs at once), saves
    looking it up."""
    version = version if version is not None else cited_version(dataset)
    cited = CitedVersion(
        campaign_code=dataset.campaign.code,
        campaign_name=dataset.campaign.name,
        archived_at=version.created_at if version is not None else dataset.created,
        version=(version.data_version if version is not None else dataset.data_version) or "",
    )
    known = recorded_doi(dataset, version) if doi is None else doi
    return cite(dataset, cited, origin, known or dataset.doi)


def citation_text(c: Citation) -> str:
    """A human citation: PIs (year): title. Version. Campaign, platform, instrument. Center. URL."""
    authors = "; ".join(p.name for p in c.authors)
    parts = [
        f"{authors} ({c.year}): {c.title}.",
        f"Version {c.version}." if c.version else "",
        f"Processing level {c.level}.",
        f"{c.campaign} field campaign, {c.platform}, {c.instrument}.",
        f"{c.publisher} ({c.publisher_code}), dataset {c.public_id}.",
        f"https://doi.org/{c.doi}" if c.doi else c.url,
    ]
    return " ".join(p for p in parts if p)


def _tex(text: str) -> str:
    specials = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%",
                "$": r"\$", "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}"}  # fmt: skip
    return "".join(specials.get(ch, ch) for ch in " ".join(text.split()))


VERBATIM_FIELDS = ("title", "doi")
"""BibTeX fields written as they are: the title (already braced), the DOI (biblatex reads it
verbatim; escaping its `_` would change it)."""


def citation_bibtex(c: Citation) -> str:
    """A BibTeX `@misc` entry (keyed by the dataset id) that BibTeX and biblatex both read."""
    key = re.sub(r"[^A-Za-z0-9_:-]", "_", c.public_id)
    fields = {
        "author": " and ".join(p.name for p in c.authors),
        "title": f"{{{_tex(c.title)}}}",  # double braces keep its capitals
        "year": str(c.year),
        "publisher": c.publisher,
        "version": c.version,
        "howpublished": f"{c.campaign} field campaign, {c.platform}, {c.instrument}",
        "url": c.url,
        "doi": c.doi,
        "note": f"Dataset {c.public_id}, archived at {c.publisher} ({c.publisher_code})",
    }
    lines = [
        f"  {name} = {{{value if name in VERBATIM_FIELDS else _tex(value)}}}"
        for name, value in fields.items()
        if value
    ]
    return f"@misc{{{key},\n" + ",\n".join(lines) + "\n}\n"


def citation_ris(c: Citation) -> str:
    """A RIS record (`TY  - DATA`), lines ending in CRLF as the format has it."""

    def line(tag: str, value: str) -> str:
        return f"{tag}  - {' '.join(value.split())}"

    rows = [line("TY", "DATA")]
    rows += [line("AU", p.name) for p in c.authors]
    rows += [
        line("PY", str(c.year)),
        line("DA", c.archived_at.strftime("%Y/%m/%d")),
        line("TI", c.title),
        line("ET", c.version) if c.version else "",
        line("PB", f"{c.publisher} ({c.publisher_code})"),
        line("ID", c.public_id),
        line("DO", c.doi) if c.doi else "",
        line("UR", c.url) if c.url else "",
        *(line("KW", k) for k in (c.campaign, c.platform, c.instrument)),
        line("AB", c.summary) if c.summary else "",
        line("ER", ""),
    ]
    return "\r\n".join(r.rstrip() if r.startswith("ER") else r for r in rows if r) + "\r\n"


def datacite_creator(p: Person) -> dict[str, Any]:
    creator: dict[str, Any] = {"name": p.name, "nameType": "Personal"}
    if p.given:
        creator |= {"givenName": p.given, "familyName": p.family}
    if p.affiliation:
        creator["affiliation"] = [{"name": p.affiliation}]
    return creator


def citation_datacite(c: Citation) -> dict[str, Any]:
    """DataCite Metadata Schema 4 as JSON (the REST API's `attributes`)."""
    doc: dict[str, Any] = {
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "Field campaign data"},
        "creators": [datacite_creator(p) for p in c.authors],
        "titles": [{"title": c.title}],
        "publisher": {"name": c.publisher},
        "publicationYear": str(c.year),
        "version": c.version or None,
        "url": c.url or None,
        "identifiers": [{"identifier": c.public_id, "identifierType": "FieldCat"}],
        "subjects": [{"subject": s} for s in (c.campaign, c.platform, c.instrument)],
        "dates": [
            {"date": c.archived_at.date().isoformat(), "dateType": "Issued"},
            {"date": f"{c.start.isoformat()}/{c.stop.isoformat()}", "dateType": "Collected"},
        ],
        "descriptions": [{"description": c.summary, "descriptionType": "Abstract"}]
        if c.summary
        else None,
        "schemaVersion": DATACITE_SCHEMA,
    }
    if c.doi:
        doc["doi"] = c.doi
    if c.did:
        doc["alternateIdentifiers"] = [
            {"alternateIdentifier": c.did, "alternateIdentifierType": "Campaign dataset id"}
        ]
    if c.bbox is not None:
        west, south, east, north = c.bbox
        box = {"westBoundLongitude": west, "eastBoundLongitude": east,
               "southBoundLatitude": south, "northBoundLatitude": north}  # fmt: skip
        doc["geoLocations"] = [{"geoLocationBox": box}]
    return {k: v for k, v in doc.items() if v is not None}


@dataclass(frozen=True)
class CitationFormat:
    """One export: its media type, file extension and renderer."""

    media_type: str
    extension: str
    render: Callable[[Citation], str]


CITATION_FORMATS: dict[str, CitationFormat] = {
    "text": CitationFormat("text/plain; charset=utf-8", "txt", citation_text),
    "bibtex": CitationFormat("application/x-bibtex; charset=utf-8", "bib", citation_bibtex),
    "ris": CitationFormat(
        "application/x-research-info-systems; charset=utf-8", "ris", citation_ris
    ),
    "datacite-json": CitationFormat(
        "application/vnd.datacite.datacite+json",
        "json",
        lambda c: json.dumps(citation_datacite(c), indent=2, ensure_ascii=False) + "\n",
    ),
}
