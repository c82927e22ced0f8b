"""An OAI-PMH 2.0 data provider over the catalog: what an anonymous caller may see.

Verbs: Identify, ListMetadataFormats, ListSets, ListIdentifiers, ListRecords, GetRecord.
Formats: `oai_dc`, `datacite` (DataCite kernel 4, the dataset's concept record) and
`iso19115-3` (`catalog.iso19115`). Sets: `campaign:CODE`, `center:CODE`, `platform:SLUG`.
Records are the datasets anonymous may see (the access policy's own filter, so an embargoed
dataset is listed with its metadata and a private one never is), mirrored ones included,
plus withdrawn datasets as deleted headers (`deletedRecord=persistent`: a withdrawal is kept
in the catalog as a tombstone, never erased). Paging is by keyset on (datestamp, id) in an
opaque resumption token that carries the whole request, so a harvest sees every record once
even while records change.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree
from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from catalog.access import visible_filter
from catalog.access_states import AccessState
from catalog.datacite_records import DoiPlan
from catalog.models import Campaign, Dataset
from catalog.oai_rows import RecordRow, record_rows
from catalog.schemas import Principal
from catalog.stac import slug

OAI = "http://www.openarchives.org/OAI/2.0/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
FORMATS: dict[str, tuple[str, str]] = {
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC),
    "datacite": (
        "https://schema.datacite.org/meta/kernel-4/metadata.xsd",
        "http://datacite.org/schema/kernel-4",
    ),
    "iso19115-3": (
        "https://schemas.isotc211.org/19115/-3/mdb/2.0/mdb.xsd",
        "http://standards.iso.org/iso/19115/-3/mdb/2.0",
    ),
}
VERBS = {
    "Identify": set(),
    "ListMetadataFormats": {"identifier"},
    "ListSets": {"resumptionToken"},
    "ListIdentifiers": {"metadataPrefix", "from", "until", "set", "resumptionToken"},
    "ListRecords": {"metadataPrefix", "from", "until", "set", "resumptionToken"},
    "GetRecord": {"identifier", "metadataPrefix"},
}
SET_KINDS = ("campaign", "center", "platform")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class OaiError(Exception):
    """An OAI-PMH error condition: its code (`badArgument`...) and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Repository:
    """This center as an OAI-PMH repository."""

    name: str
    base_url: str
    """The `/oai` endpoint's absolute URL."""
    admin_email: str
    center_code: str
    page_size: int
    plan: DoiPlan

    @property
    def namespace(self) -> str:
        """The repository part of identifiers (`oai:joss.fieldcat:<public id>`)."""
        return f"{slug(self.center_code)}.fieldcat"

    def identifier(self, public_id: str) -> str:
        """The OAI identifier of a dataset."""
        return f"oai:{self.namespace}:{public_id}"

    def public_id(self, identifier: str) -> str:
        """The dataset id of an OAI identifier of this repository (else idDoesNotExist)."""
        prefix = f"oai:{self.namespace}:"
        if not identifier.startswith(prefix):
            raise OaiError("idDoesNotExist", "not an identifier of this repository")
        return identifier.removeprefix(prefix)


def stamp(when: datetime) -> str:
    """A datestamp at the repository's granularity (seconds, UTC)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_stamp(text: str, name: str, end: bool) -> tuple[datetime, int]:
    formats = (("%Y-%m-%d", 10), ("%Y-%m-%dT%H:%M:%SZ", 20))
    for fmt, length in formats:
        if len(text) == length:
            try:
                when = datetime.strptime(text, fmt).replace(tzinfo=UTC)
            except ValueError:
                break
            if length == 10 and end:
                when = when.replace(hour=23, minute=59, second=59)
            return when, length
    raise OaiError("badArgument", f"{name} must be YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ")


@dataclass(frozen=True)
class ListRequest:
    """A list request, all of which a resumption token carries."""

    prefix: str
    set_spec: str | None = None
    start: str | None = None
    until: str | None = None
    after: tuple[str, str] | None = None
    cursor: int = 0
    total: int | None = None

    def token(self) -> str:
        """This request as an opaque resumption token."""
        raw = json.dumps(
            [
                self.prefix,
                self.set_spec,
                self.start,
                self.until,
                self.after,
                self.cursor,
                self.total,
            ],
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def from_token(cls, token: str) -> ListRequest:
        """The request a token carries (badResumptionToken when it is not one of ours)."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            prefix, set_spec, start, until, after, cursor, total = json.loads(raw)
            return cls(
                prefix, set_spec, start, until, tuple(after) if after else None, int(cursor), total
            )
        except (ValueError, TypeError, binascii.Error) as err:
            raise OaiError(
                "badResumptionToken", "not a resumption token of this repository"
            ) from err


def listed_clause(now: datetime) -> ColumnElement[bool]:
    """What the repository lists: what anonymous may see, and withdrawals as deleted."""
    withdrawn = Dataset.access_state == AccessState.WITHDRAWN.value
    return or_(visible_filter(Principal.anonymous(), now), withdrawn)


def _set_clause(session: Session, set_spec: str) -> ColumnElement[bool]:
    kind, _, value = set_spec.partition(":")
    if kind == "campaign":
        ids = [c.id for c in session.scalars(select(Campaign)) if slug(c.code) == value]
        return Dataset.campaign_id.in_(ids)
    if kind == "center":
        return func.lower(Dataset.origin_center) == value
    if kind == "platform":
        keys = session.scalars(select(Dataset.platform_key).distinct())
        return Dataset.platform_key.in_([k for k in keys if slug(k) == value])
    raise OaiError("badArgument", f"no set {set_spec!r}")


def _where(session: Session, request: ListRequest, now: datetime) -> list[ColumnElement[bool]]:
    clauses = [listed_clause(now)]
    if request.set_spec:
        clauses.append(_set_clause(session, request.set_spec))
    if request.start:
        clauses.append(Dataset.updated >= _parse_stamp(request.start, "from", False)[0])
    if request.until:
        clauses.append(Dataset.updated <= _parse_stamp(request.until, "until", True)[0])
    return clauses


def check_window(start: str | None, until: str | None) -> None:
    if start and until:
        (low, a), (high, b) = _parse_stamp(start, "from", False), _parse_stamp(until, "until", True)
        if a != b:
            raise OaiError("badArgument", "from and until must have the same granularity")
        if low > high:
            raise OaiError("badArgument", "from is after until")
    elif start or until:
        _parse_stamp(start or until or "", "from" if start else "until", bool(until))


@dataclass
class Page:
    """One page of a list: its rows and the next request."""

    datasets: list[RecordRow]
    next_request: ListRequest | None
    request: ListRequest


def list_page(session: Session, request: ListRequest, repo: Repository, now: datetime) -> Page:
    """The page of a list request; noRecordsMatch when the whole list is empty."""
    if request.prefix not in FORMATS:
        raise OaiError("cannotDisseminateFormat", f"no metadata format {request.prefix!r}")
    where = _where(session, request, now)
    total = request.total
    if total is None:
        total = session.scalar(select(func.count(Dataset.id)).where(and_(*where))) or 0
        if total == 0:
            raise OaiError("noRecordsMatch", "no record matches the request")
    if request.after is not None:
        stamp_, public_id = request.after
        key = tuple_(Dataset.updated, Dataset.public_id)
        where.append(key > tuple_(datetime.fromisoformat(stamp_), public_id))
    rows = record_rows(session, where, repo.page_size + 1)
    more = len(rows) > repo.page_size
    rows = rows[: repo.page_size]
    nxt = None
    if more:
        last = rows[-1]
        nxt = ListRequest(
            request.prefix,
            request.set_spec,
            request.start,
            request.until,
            (last.updated.isoformat(), last.public_id),
            request.cursor + len(rows),
            total,
        )
    return Page(rows, nxt, ListRequest(**{**request.__dict__, "total": total}))


def sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    child = etree.SubElement(parent, tag, **attrs)
    if text is not None:
        child.text = text
    return child


def envelope(repo: Repository, args: Mapping[str, str], now: datetime) -> etree._Element:
    """The `OAI-PMH` root with the response date and the request echoed."""
    root = etree.Element(f"{{{OAI}}}OAI-PMH", nsmap={None: OAI, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd")
    sub(root, f"{{{OAI}}}responseDate", stamp(now))
    request = sub(root, f"{{{OAI}}}request", repo.base_url)
    for name, value in args.items():
        request.set(name, value)
    return root
