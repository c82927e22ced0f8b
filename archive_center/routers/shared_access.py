"""Named readers (`/datasets/{id}/readers`), access requests (`/access-requests`) and following
a dataset's release (`/datasets/{id}/follow`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from archive_center.routers.query import as_utc
from catalog.access_models import DataRequest, DatasetReader
from catalog.access_requests import Decision, Requester, decide, list_requests, request_access
from catalog.models import Dataset
from catalog.readers import Reader, list_readers, managed_dataset, put_reader, remove_reader
from catalog.release_notices import follow, unfollow
from catalog.schemas import Principal
from catalog.search import get_dataset
from catalog.vouched import email_of, person
from web.deps import NowDep, PersonDep, SessionDep, SettingsDep, forbid_unknown_query
from web.params import RowId

router = APIRouter(tags=["access"])
NO_STORE = {"Cache-Control": "no-store", "Vary": "Cookie, Authorization"}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not the dataset's owner or staff"},
    404: {"description": "No such dataset or request"},
    409: {"description": "Already readable, already decided, or held by another center"},
}


class ReaderPut(BaseModel):
    """A named-reader entry: until `expires_at` (omitted: until removed), with a reason."""

    expires_at: datetime | None = None
    reason: str = Field(min_length=3, max_length=2000)


class ReaderRead(BaseModel):
    """One named reader of a dataset."""

    center: str
    username: str
    expires_at: datetime | None
    added_by: str
    added_at: datetime


class RequestAsk(BaseModel):
    """Why the caller needs the data."""

    reason: str = Field(min_length=3, max_length=2000)


class DecisionBody(BaseModel):
    """An approval's expiry (omitted: until removed) and a note to the requester."""

    expires_at: datetime | None = None
    note: str = Field(default="", max_length=2000)


class Done(BaseModel):
    """Whether the call changed something (calling it again changes nothing)."""

    changed: bool


class RequestRead(BaseModel):
    """An access request and its answer."""

    id: int
    dataset: str
    title: str
    center: str
    username: str
    reason: str
    status: str
    requested_at: datetime
    decided_at: datetime | None
    expires_at: datetime | None


def _reader(entry: DatasetReader) -> ReaderRead:
    return ReaderRead(
        center=entry.center, username=entry.username, expires_at=entry.expires_at,
        added_by=entry.added_by, added_at=entry.added_at,
    )  # fmt: skip


def _request(row: DataRequest, dataset: Dataset) -> RequestRead:
    return RequestRead(
        id=row.id, dataset=dataset.public_id, title=dataset.title, center=row.center,
        username=row.username, reason=row.reason, status=row.status,
        requested_at=row.requested_at, decided_at=row.decided_at, expires_at=row.expires_at,
    )  # fmt: skip


def _who(caller: Principal, settings: SettingsDep) -> tuple[str, str]:
    who = person(caller, settings.center_code)
    assert who is not None  # PersonDep admitted a person
    return who


@router.get("/datasets/{public_id}/readers", responses=ERRORS)
def get_readers(
    public_id: str, caller: PersonDep, session: SessionDep, now: NowDep, response: Response
) -> list[ReaderRead]:
    """The dataset's named readers (its owner or staff)."""
    response.headers.update(NO_STORE)
    return [_reader(e) for e in list_readers(session, public_id, caller, now)]


@router.put("/datasets/{public_id}/readers/{center}/{username}", responses=ERRORS)
def set_reader(
    public_id: str, center: str, username: str, body: ReaderPut, caller: PersonDep,
    session: SessionDep, now: NowDep, response: Response,
) -> ReaderRead:  # fmt: skip
    """Name a reader (a user of `center`: this one's code for a local user); audited."""
    dataset = managed_dataset(session, public_id, caller, now)
    reader = Reader(center=center[:16], username=username[:64], expires_at=as_utc(body.expires_at))
    entry = put_reader(session, dataset, reader, actor=caller, reason=body.reason, now=now)
    response.headers.update(NO_STORE)
    return _reader(entry)


@router.delete("/datasets/{public_id}/readers/{center}/{username}", responses=ERRORS)
def delete_reader(
    public_id: str, center: str, username: str, caller: PersonDep, session: SessionDep,
    now: NowDep, reason: Annotated[str, Query(min_length=3, max_length=2000)],
    response: Response,
) -> Done:  # fmt: skip
    """Remove a named reader (audited); removing one that is not there changes nothing."""
    dataset = managed_dataset(session, public_id, caller, now)
    response.headers.update(NO_STORE)
    return Done(
        changed=remove_reader(
            session, dataset, center, username, actor=caller, reason=reason, now=now
        )
    )


@router.post(
    "/datasets/{public_id}/access-requests",
    responses=ERRORS,
    status_code=201,
    dependencies=[forbid_unknown_query()],
)
def ask_access(
    public_id: str, body: RequestAsk, caller: PersonDep, session: SessionDep,
    settings: SettingsDep, now: NowDep, response: Response,
) -> RequestRead:  # fmt: skip
    """Ask the owner for access to a restricted dataset; the owner is told by e-mail."""
    center, username = _who(caller, settings)
    who = Requester(center=center, username=username, email=email_of(session, caller))
    row = request_access(session, public_id, actor=caller, who=who, reason=body.reason, now=now)
    response.headers.update(NO_STORE)
    dataset = session.get(Dataset, row.dataset_id)
    assert dataset is not None
    return _request(row, dataset)


@router.get("/access-requests", responses=ERRORS, dependencies=[forbid_unknown_query()])
def get_access_requests(
    caller: PersonDep, session: SessionDep, settings: SettingsDep, response: Response
) -> list[RequestRead]:
    """The caller's requests, and those it may answer (its datasets; staff: all)."""
    response.headers.update(NO_STORE)
    rows = list_requests(session, caller, _who(caller, settings))
    return [_request(row, dataset) for row, dataset in rows]


def _decide(
    request_id: int, approve: bool, body: DecisionBody, caller: Principal, session: SessionDep,
    now: datetime,
) -> RequestRead:  # fmt: skip
    decision = Decision(approve=approve, expires_at=as_utc(body.expires_at), note=body.note)
    row = decide(session, request_id, decision, actor=caller, now=now)
    dataset = session.get(Dataset, row.dataset_id)
    assert dataset is not None
    return _request(row, dataset)


@router.post("/access-requests/{request_id}/approve", responses=ERRORS)
def approve_request(
    request_id: RowId, body: DecisionBody, caller: PersonDep, session: SessionDep, now: NowDep,
    response: Response,
) -> RequestRead:  # fmt: skip
    """Approve: the requester becomes a named reader until `expires_at`; both are told."""
    response.headers.update(NO_STORE)
    return _decide(request_id, True, body, caller, session, now)


@router.post("/access-requests/{request_id}/decline", responses=ERRORS)
def decline_request(
    request_id: RowId, body: DecisionBody, caller: PersonDep, session: SessionDep, now: NowDep,
    response: Response,
) -> RequestRead:  # fmt: skip
    """Decline, with a note the requester is sent."""
    response.headers.update(NO_STORE)
    return _decide(request_id, False, body, caller, session, now)


@router.put("/datasets/{public_id}/follow", responses=ERRORS)
def follow_dataset(
    public_id: str, caller: PersonDep, session: SessionDep, settings: SettingsDep, now: NowDep,
    response: Response,
) -> Done:  # fmt: skip
    """Be told by e-mail when the dataset opens."""
    get_dataset(session, public_id, caller, now)  # 404 when hidden from the caller
    dataset = session.scalars(select(Dataset).where(Dataset.public_id == public_id)).one()
    response.headers.update(NO_STORE)
    return Done(
        changed=follow(session, dataset, _who(caller, settings), email_of(session, caller), now)
    )


@router.delete("/datasets/{public_id}/follow", responses=ERRORS)
def unfollow_dataset(
    public_id: str, caller: PersonDep, session: SessionDep, settings: SettingsDep, now: NowDep,
    response: Response,
) -> Done:  # fmt: skip
    """Stop being told about the dataset."""
    get_dataset(session, public_id, caller, now)
    dataset = session.scalars(select(Dataset).where(Dataset.public_id == public_id)).one()
    response.headers.update(NO_STORE)
    return Done(changed=unfollow(session, dataset, _who(caller, settings)))
