"""DataCite records of a dataset and its versions, and DOI minting by staff."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from catalog.datacite_records import DoiPlan, record_xml, visible_records
from catalog.doi_minting import DataCiteAccount, mint_dois
from catalog.errors import NotFoundError
from web.deps import NowDep, PrincipalDep, SessionDep, SettingsDep, StaffDep, forbid_unknown_query
from web.responses import cache_headers
from web.settings import Settings

router = APIRouter(tags=["doi"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not staff"},
    404: {"description": "No such dataset or version"},
    409: {"description": "Minting not configured, or a record this center does not mint"},
    502: {"description": "DataCite refused or did not answer"},
}
MINTING = "X-FieldCat-DOI-Minting"
"""Says on every DataCite answer whether this center can mint (`configured`) or not."""


def account(settings: Settings) -> DataCiteAccount:
    """The `[doi]` settings as a DataCite account."""
    doi = settings.doi
    return DataCiteAccount(doi.prefix, doi.username, doi.password, doi.api_url, doi.timeout_s)


def _minting(settings: Settings) -> dict[str, str]:
    return {MINTING: "configured" if account(settings).configured else "not-configured"}


@router.get(
    "/datasets/{public_id}/datacite",
    response_class=Response,
    responses=ERRORS
    | {
        200: {
            "description": "A DataCite record",
            "content": {
                "application/vnd.datacite.datacite+json": {},
                "application/vnd.datacite.datacite+xml": {},
            },
        }
    },
    dependencies=[forbid_unknown_query("version", "format")],
)
def read_datacite(
    public_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    now: NowDep,
    version: Annotated[int, Query(ge=0, le=2**31 - 1, description="0: the dataset as a whole")] = 0,
    format: Literal["json", "xml"] = "json",
) -> Response:
    """The DataCite record of the dataset (`version=0`) or of its `version`th version."""
    records = visible_records(session, public_id, principal, now, DoiPlan(settings.doi.prefix))
    if version > len(records.versions):
        raise NotFoundError(f"{public_id} has {len(records.versions)} versions")
    record = records.versions[version - 1] if version else records.concept
    headers = cache_headers(False) | _minting(settings)
    if format == "xml":
        return Response(
            record_xml(record), media_type="application/vnd.datacite.datacite+xml", headers=headers
        )
    return JSONResponse(
        record, media_type="application/vnd.datacite.datacite+json", headers=headers
    )


class MintRequest(BaseModel):
    """What DataCite should make of the DOIs: `publish` (findable), `register`, `draft`."""

    event: Literal["publish", "register", "draft"] = "publish"


class MintedDoi(BaseModel):
    """One DOI after a mint."""

    version: int
    """0 for the dataset as a whole, else the version's number (1 for the first)."""
    doi: str
    state: str
    created: bool


@router.post("/datasets/{public_id}/doi", responses=ERRORS, dependencies=[forbid_unknown_query()])
def mint(
    public_id: str,
    body: MintRequest,
    response: Response,
    session: SessionDep,
    staff: StaffDep,
    settings: SettingsDep,
    now: NowDep,
) -> list[MintedDoi]:
    """Staff: mint (or update) the DOIs of a local dataset and its versions at DataCite."""
    result = mint_dois(session, public_id, account(settings), now, staff, body.event)
    response.headers.update(cache_headers(False))
    return [
        MintedDoi(version=n, doi=doi, state=state, created=created)
        for n, (doi, state, created) in sorted(result.dois.items())
    ]
