"""Federation routes: the change feed and notifications (signed by a peer), the public status."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from catalog.errors import NotFoundError, RoleRequiredError
from catalog.handover import (
    accept_handover,
    find_handover,
    finish_handover,
    handed_over_blob,
    manifest,
)
from catalog.handover_files import BUNDLE_FILES, bundle_paths, bundle_stream, served_file
from catalog.handover_files import NAME as DERIVED_NAME
from catalog.sqltypes import INT32_MAX
from federation.feed import DEFAULT_LIMIT, MAX_LIMIT, feed_page, record_digests
from federation.peers import authenticate_peer_request
from federation.signing import SignedRequest, sign_answer
from federation.status import FederationStatus, federation_status, record_notification
from web.deps import NowDep, SessionDep, SettingsDep, StoreDep, forbid_unknown_query
from web.responses import TransferFileResponse

router = APIRouter(prefix="/federation", tags=["federation"])
SIGNED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, stale, replayed or wrong peer signature"}
}


async def signed_peer(request: Request, settings: SettingsDep, now: NowDep) -> SignedRequest:
    """The verified sender of a signed peer request (401 problem otherwise)."""
    body = await request.body()
    return await run_in_threadpool(
        lambda: authenticate_peer_request(
            request.app.state.session_factory,
            local_code=settings.center_code,
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            headers=request.headers,
            body=body,
            now=now,
        )
    )


PeerDep = Annotated[SignedRequest, Depends(signed_peer)]


class Notification(BaseModel):
    """A peer's news: its change log reached `last_seq`."""

    last_seq: int = Field(ge=0, le=INT32_MAX)
    """A change-log sequence number (an `Integer` column): larger is refused with 422."""


class Accepted(BaseModel):
    """A notification was taken."""

    accepted: bool = True


def _signed_json(
    content: Any, peer: SignedRequest, request: Request, responder: str, now: Any, status: int = 200
) -> Response:
    """A JSON answer signed for the peer that asked (see `federation.signing`)."""
    body = json.dumps(content, separators=(",", ":"), default=str).encode()
    headers = {"Cache-Control": "no-store"} | sign_answer(
        peer, responder=responder, path=request.url.path, query=request.url.query, body=body,
        now=now,
    )  # fmt: skip
    return Response(body, status_code=status, media_type="application/json", headers=headers)


@router.get(
    "/changes",
    responses={200: {"description": "A page of the change log"}, **SIGNED},
    dependencies=[forbid_unknown_query("since", "limit")],
)
def changes(
    peer: PeerDep,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    since: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Response:
    """Changes after `since`, oldest first (peers only, signed; the answer is signed too)."""
    page = feed_page(session, settings.center_code, since, limit)
    return _signed_json(page, peer, request, settings.center_code, now)


@router.post(
    "/notify",
    status_code=202,
    response_model=None,
    responses={202: {"model": Accepted, "description": "Taken"}, **SIGNED},
)
def notify(
    peer: PeerDep,
    body: Notification,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """A peer's log grew: pull from it at once (peers only, signed)."""
    record_notification(session, peer.sender, body.last_seq, now)
    accepted = Accepted().model_dump()
    return _signed_json(accepted, peer, request, settings.center_code, now, status=202)


@router.get("/digests", responses={200: {"description": "Content hashes"}, **SIGNED})
def digests(
    peer: PeerDep, request: Request, session: SessionDep, settings: SettingsDep, now: NowDep
) -> Response:
    """Every shared record held here with its content hash (peers only, for `peers verify`)."""
    content = {"center": settings.center_code, "records": record_digests(session)}
    return _signed_json(content, peer, request, settings.center_code, now)


@router.get("/status", dependencies=[forbid_unknown_query()])
def status(session: SessionDep, settings: SettingsDep) -> FederationStatus:
    """This center's log position and how fresh its copy of each peer is (public)."""
    return federation_status(session, settings.center_code)


HANDOVER: dict[int | str, dict[str, Any]] = {
    **SIGNED,
    403: {"description": "No hand-over agreed between the two centers"},
}


class HandoverDone(BaseModel):
    """The receiving center holds every record: the products' ids there, by public id, and
    the calibrations' ids there, by their id here."""

    products: dict[str, int] = Field(default_factory=dict)
    calibrations: dict[str, int] = Field(default_factory=dict)


def _offered_to(session: Any, local: str, peer: SignedRequest) -> None:
    if find_handover(session, local, peer.sender) is None:
        raise RoleRequiredError(f"{local} offered no hand-over to {peer.sender}")


@router.post("/handover/offer", responses=HANDOVER, dependencies=[forbid_unknown_query()])
def handover_offer(
    peer: PeerDep, request: Request, session: SessionDep, settings: SettingsDep, now: NowDep
) -> Response:
    """A closing peer offers its records; accepted (signed) if this center agreed to take them."""
    agreed = {code.upper() for code in settings.federation.accept_handover_from}
    if peer.sender not in agreed:
        raise RoleRequiredError(f"{settings.center_code} takes no hand-over from {peer.sender}")
    job = accept_handover(session, peer.sender, settings.center_code, now)
    answer = {"accepted": True, "center": settings.center_code, "state": job.state}
    return _signed_json(answer, peer, request, settings.center_code, now)


@router.get("/handover/manifest", responses=HANDOVER, dependencies=[forbid_unknown_query()])
def handover_manifest(
    peer: PeerDep, request: Request, session: SessionDep, settings: SettingsDep,
    store: StoreDep, now: NowDep,
) -> Response:  # fmt: skip
    """Every record this center originated, whole, with its derived files (to the peer it
    offered them to, signed)."""
    _offered_to(session, settings.center_code, peer)
    return _signed_json(manifest(session, store, settings.center_code), peer, request,
                        settings.center_code, now)  # fmt: skip


@router.get(
    "/handover/blobs/{sha256}",
    response_class=FileResponse,
    responses=HANDOVER | {404: {"description": "Not a file of ours"}},
    dependencies=[forbid_unknown_query("file")],
)
def handover_blob(
    peer: PeerDep,
    sha256: Annotated[str, PathParam(pattern="^[0-9a-f]{64}$")],
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    file: Annotated[str | None, Query(max_length=200, pattern=DERIVED_NAME.pattern)] = None,
) -> FileResponse:
    """An original of a record offered to the peer, or with `file` one of their derived files
    as the manifest names it (the peer checks the bytes by the SHA-256 in the signed
    manifest)."""
    _offered_to(session, settings.center_code, peer)
    if file is not None:
        found = served_file(session, store, settings.center_code, file)
        if found is None:
            raise NotFoundError("no such derived file among the records offered")
        return TransferFileResponse(found, media_type="application/octet-stream",
                                    headers={"Cache-Control": "no-store"})  # fmt: skip
    if not handed_over_blob(session, settings.center_code, sha256):
        raise NotFoundError("no such original among the records offered")
    path = store.original_path(sha256)
    if not path.is_file():
        raise NotFoundError("this original is missing from the archive")
    return TransferFileResponse(path, media_type="application/octet-stream",
                                headers={"Cache-Control": "no-store"})  # fmt: skip


class BundleFile(BaseModel):
    """One file of a bundle: an original by its SHA-256, or with `file` a derived file."""

    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    file: str | None = Field(default=None, max_length=200, pattern=DERIVED_NAME.pattern)


class HandoverBundle(BaseModel):
    """Files of the records offered, asked in one request."""

    files: list[BundleFile] = Field(max_length=BUNDLE_FILES)


@router.post(
    "/handover/bundle",
    response_class=StreamingResponse,
    responses=HANDOVER | {200: {"content": {"application/octet-stream": {}},
                                "description": "Each file as its length then its bytes"}},
    dependencies=[forbid_unknown_query()],
)  # fmt: skip
def handover_bundle(
    peer: PeerDep, body: HandoverBundle, session: SessionDep, settings: SettingsDep,
    store: StoreDep,
) -> StreamingResponse:  # fmt: skip
    """Several files of the records offered to the peer in one answer, in the order asked:
    each as its length (8 bytes, big-endian; all ones for a file not served) then its bytes
    (the peer checks each by the SHA-256 in the signed manifest)."""
    _offered_to(session, settings.center_code, peer)
    asked = [(f.sha256, f.file) for f in body.files]
    paths = bundle_paths(session, store, settings.center_code, asked)
    return StreamingResponse(bundle_stream(paths), media_type="application/octet-stream",
                             headers={"Cache-Control": "no-store"})  # fmt: skip


@router.post("/handover/complete", responses=HANDOVER, dependencies=[forbid_unknown_query()])
def handover_complete(
    peer: PeerDep, body: HandoverDone, request: Request, session: SessionDep,
    settings: SettingsDep, now: NowDep,
) -> Response:  # fmt: skip
    """The peer holds every record: they now name it as origin here, announced as moves."""
    _offered_to(session, settings.center_code, peer)
    moved = finish_handover(session, settings.center_code, peer.sender, body.products, now,
                            body.calibrations)  # fmt: skip
    return _signed_json({"moved": moved}, peer, request, settings.center_code, now)
