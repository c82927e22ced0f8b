"""OPeNDAP (DAP2): `/opendap/{id}.dds`, `.das` and `.dods`, mounted at the root.

A DAP client is given `http://center/opendap/{id}` and asks for the three answers itself.
Access is the data policy of the downloads: open data for anyone; the rest for a caller the
policy lets read it, who signs in with HTTP Basic (user name, API token as the password) from
`.netrc`, since a DAP client cannot send a Bearer header. An anonymous refusal is a 401 with
a Basic challenge, so clients that wait for one send their `.netrc` credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from catalog.errors import AuthenticationRequiredError, PermissionDeniedError
from catalog.opendap_source import NetcdfSource, netcdf_source
from web.deps import NowDep, PrincipalDep, SessionDep, StoreDep
from web.links import OPENDAP_PREFIX
from web.opendap import DESCRIPTIONS, MEDIA_TYPES, DapAnswer, dap_answer
from web.responses import cache_headers

router = APIRouter(tags=["opendap"])

DAP_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad constraint expression"},
    401: {"description": "Data not open: HTTP Basic with user name and API token"},
    403: {"description": "Data not released to this caller"},
    404: {"description": "No such dataset"},
}


def _source(
    session: SessionDep, store: StoreDep, public_id: str, principal: PrincipalDep, now: NowDep
) -> NetcdfSource:
    try:
        return netcdf_source(session, store, public_id, principal, now)
    except PermissionDeniedError as err:
        if principal.user_id is None:
            raise AuthenticationRequiredError(str(err), basic=True) from err
        raise


def _then_discard(chunks: Iterator[bytes], source: NetcdfSource) -> Iterator[bytes]:
    try:
        yield from chunks
    finally:
        source.discard()


@router.get(
    f"{OPENDAP_PREFIX}/{{public_id}}.{{answer}}",
    response_class=StreamingResponse,
    responses=DAP_ERRORS
    | {
        200: {
            "description": "The DDS, DAS or data (DODS) answer; the query is a DAP2 "
            "constraint expression (variables with index ranges, e.g. `O3[0:1:99]`)",
            "content": {"text/plain": {}, "application/octet-stream": {}},
        },
        307: {"description": "Held by another center: its same URL"},
    },
)
def opendap(
    public_id: str,
    answer: DapAnswer,
    request: Request,
    session: SessionDep,
    store: StoreDep,
    principal: PrincipalDep,
    now: NowDep,
) -> Response:
    """One DAP2 answer of a dataset's current NetCDF (the values of the NetCDF download)."""
    source = _source(session, store, public_id, principal, now)
    if source.origin_base_url is not None:
        target = f"{source.origin_base_url}{request.url.path}"
        target += f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(target, status_code=307, headers=cache_headers(False))
    assert source.path is not None
    try:
        chunks = dap_answer(source.path, public_id, answer, request.url.query)
    except BaseException:
        source.discard()
        raise
    headers = cache_headers(source.is_public) | {
        "Content-Description": DESCRIPTIONS[answer],
        "XDODS-Server": "dods/3.2",
    }
    return StreamingResponse(
        _then_discard(chunks, source), media_type=MEDIA_TYPES[answer], headers=headers
    )
