"""Minting and updating DOIs at DataCite, when staff say so and credentials are configured.

`mint_dois` registers (or updates) the DOI of a local dataset as a whole and of each of its
versions, with the records of `catalog.datacite_records` (checked against the DataCite schema
first), through the `datacite` package's REST client. A mirrored record is minted by its
origin center, never here. Without credentials (`DataCiteAccount.configured` false) it
refuses with `DoiNotConfiguredError` and nothing else changes: records are still served.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from datacite import DataCiteRESTClient
from datacite.errors import DataCiteError
from requests import RequestException
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from catalog.access_admin import publish
from catalog.audit import record_event
from catalog.datacite_records import DataCiteSet, DoiPlan, datacite_set, ordered_versions
from catalog.errors import ConflictError, DoiNotConfiguredError, DoiServiceError, NotFoundError
from catalog.faces_models import DatasetDoi
from catalog.models import Center, Dataset
from catalog.schemas import Principal

DoiEvent = Literal["publish", "register", "draft"]
STATE_OF_EVENT = {"publish": "findable", "register": "registered", "draft": "draft"}


@dataclass(frozen=True)
class DataCiteAccount:
    """A DataCite repository account (from the `[doi]` settings)."""

    prefix: str = ""
    username: str = ""
    password: str = ""
    api_url: str = "https://api.datacite.org/"
    timeout_s: float = 30.0

    @property
    def configured(self) -> bool:
        """Whether DOIs can be minted: a prefix and credentials are set."""
        return bool(self.prefix and self.username and self.password)

    @property
    def plan(self) -> DoiPlan:
        """The DOIs this account would give."""
        return DoiPlan(self.prefix)

    def client(self) -> DataCiteRESTClient:
        """The `datacite` package's REST client for this account."""
        return DataCiteRESTClient(
            self.username, self.password, self.prefix, url=self.api_url, timeout=self.timeout_s
        )


@dataclass(frozen=True)
class MintResult:
    """What a mint did: number (0 the dataset, 1.. versions) -> (DOI, state, created?)."""

    public_id: str
    dois: dict[int, tuple[str, str, bool]]


def _local_dataset(session: Session, public_id: str) -> tuple[Dataset, Center]:
    dataset = session.scalars(
        select(Dataset)
        .where(Dataset.public_id == public_id)
        .options(selectinload(Dataset.versions))
    ).one_or_none()
    if dataset is None:
        raise NotFoundError(f"no dataset {public_id!r}")
    origin = session.scalars(select(Center).where(Center.code == dataset.origin_center)).one()
    if not origin.is_local:
        raise ConflictError(f"{public_id} is minted by its origin center {origin.code}")
    if dataset.access_state in ("private", "withdrawn"):
        raise ConflictError(f"{public_id} is {dataset.access_state}: a DOI must resolve publicly")
    return dataset, origin


def _send(client: Any, doi: str, exists: bool, record: dict[str, Any], event: DoiEvent) -> None:
    metadata = {k: v for k, v in record.items() if k not in ("doi", "url")}
    url = record["url"]
    try:
        if exists:
            client.update_doi(doi, metadata=metadata | {"event": event}, url=url)
        elif event == "draft":
            client.draft_doi(metadata=metadata | {"url": url}, doi=doi)
        elif event == "register":
            client.private_doi(metadata, url, doi=doi)
        else:
            client.public_doi(metadata, url, doi=doi)
    except (DataCiteError, RequestException, ValueError) as err:
        raise DoiServiceError(f"DataCite refused {doi}: {type(err).__name__}") from err


def mint_dois(
    session: Session,
    public_id: str,
    account: DataCiteAccount,
    now: datetime,
    actor: Principal,
    event: DoiEvent = "publish",
) -> MintResult:
    """Register or update the DOIs of a local dataset and of every version it has (audited)."""
    if not account.configured:
        raise DoiNotConfiguredError("DOI minting is not configured at this center ([doi])")
    dataset, origin = _local_dataset(session, public_id)
    records: DataCiteSet = datacite_set(session, dataset, origin, account.plan, planned=True)
    versions = [None, *(v.id for v in ordered_versions(dataset))]
    known = {
        row.version_id: row
        for row in session.scalars(select(DatasetDoi).where(DatasetDoi.dataset_id == dataset.id))
    }
    client = account.client()
    done: dict[int, tuple[str, str, bool]] = {}
    for number, record in enumerate([records.concept, *records.versions]):
        version_id, row = versions[number], known.get(versions[number])
        doi = row.doi if row is not None else record["doi"]
        created = row is None
        _send(client, doi, not created, record, event)
        if row is None:
            row = DatasetDoi(dataset_id=dataset.id, version_id=version_id, doi=doi, minted_at=now)
            session.add(row)
        row.state, row.updated_at = STATE_OF_EVENT[event], now
        done[number] = (doi, row.state, created)
    if dataset.doi != done[0][0]:  # the mirrors learn it through the change log
        dataset.doi = done[0][0]
        publish(session, dataset, now)
    after = {str(n): {"doi": doi, "state": state} for n, (doi, state, _) in done.items()}
    record_event(
        session,
        actor=actor,
        action=f"doi-{event}",
        now=now,
        dataset=dataset,
        reason="DOIs minted or updated at DataCite",
        after=after,
    )
    session.flush()
    return MintResult(public_id, done)
