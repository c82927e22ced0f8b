"""OPeNDAP: DAP2 (`/opendap/{id}.dds`, `.das`, `.dods`, `.ascii`) and DAP4 (`.dmr`,
`.dmr.xml`, `.dap`), mounted at the root.

A DAP client is given `http://center/opendap/{id}` and asks for the three answers itself.
Access is the data policy of the downloads: open data for anyone; the rest for a caller the
policy lets read it, who signs in with HTTP Basic (user name, API token as the password) from
`.netrc`, since a DAP client cannot send a Bearer header. An anonymous refusal is a 401 with
a Basic challenge, so clients that wait for one send their `.netrc` credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from catalog.errors import AuthenticationRequiredError, NotFoundError, PermissionDeniedError
from catalog.opendap_source import NetcdfSource, netcdf_source
from web.deps import NowDep, PrincipalDep, SessionDep, StoreDep
from web.links import OPENDAP_PREFIX
from web.opendap import DAP_ANSWERS, DESCRIPTIONS, MEDIA_TYPES, dap_answer
from web.opendap4 import DAP4_MEDIA_TYPES, dap4_answer
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
        if principal.user_id is None and principal.home_center is None:  # nobody signed in
            raise AuthenticationRequiredError(str(err), basic=True) from err
        raise


ANSWERS = (*DAP_ANSWERS, *DAP4_MEDIA_TYPES)


def _answer_of(public_id: str, answer: str) -> tuple[str, str]:
    """(id, answer) of a request path; `ID.dmr.xml` arrives as (`ID.dmr`, `xml`)."""
    if "." in public_id:  # ids have no dots
        public_id, rest = public_id.split(".", 1)
        answer = f"{rest}.{answer}"
    if answer not in ANSWERS:
        raise NotFoundError(f"no OPeNDAP answer .{answer}; there are: .{', .'.join(ANSWERS)}")
    return public_id, answer


def _chunks(path: Path, public_id: str, answer: str, query: str) -> Iterator[bytes | memoryview]:
    if answer in DAP4_MEDIA_TYPES:
        return dap4_answer(path, public_id, answer, query)  # type: ignore[arg-type]
    return dap_answer(path, public_id, answer, query)  # type: ignore[arg-type]


def _headers(answer: str, is_public: bool) -> dict[str, str]:
    described = {"Content-Description": DESCRIPTIONS[answer]} if answer in DESCRIPTIONS else {}
    return cache_headers(is_public) | described | {"XDODS-Server": "dods/3.2"}


def _then_discard(
    chunks: Iterator[bytes | memoryview], source: NetcdfSource
) -> Iterator[bytes | memoryview]:
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
            "description": "`answer`: DAP2 `dds`, `das`, `dods`, `ascii` (the query a DAP2 "
            "constraint expression, e.g. `O3[0:1:99]`) or DAP4 `dmr`, `dmr.xml`, `dap` (the "
            "query `dap4.ce=/O3[0:1:99]`, `dap4.checksum=true`)",
            "content": {"text/plain": {}, "application/octet-stream": {}}
            | {media: {} for media in DAP4_MEDIA_TYPES.values()},
        },
        307: {"description": "Held by another center: its same URL"},
    },
)
def opendap(
    public_id: str,
    answer: str,
    request: Request,
    session: SessionDep,
    store: StoreDep,
    principal: PrincipalDep,
    now: NowDep,
) -> Response:
    """One DAP2 or DAP4 answer of a dataset's current NetCDF (the download's values)."""
    public_id, answer = _answer_of(public_id, answer)
    source = _source(session, store, public_id, principal, now)
    if source.origin_base_url is not None:
        target = f"{source.origin_base_url}{request.url.path}"
        target += f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(target, status_code=307, headers=cache_headers(False))
    assert source.path is not None
    try:
        chunks = _chunks(source.path, public_id, answer, request.url.query)
    except BaseException:
        source.discard()
        raise
    media = MEDIA_TYPES.get(answer) or DAP4_MEDIA_TYPES[answer]  # type: ignore[call-overload]
    headers = _headers(answer, source.is_public)
    return StreamingResponse(_then_discard(chunks, source), media_type=media, headers=headers)
