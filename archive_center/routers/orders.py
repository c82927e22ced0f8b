"""Orders: a basket or a whole search result as a zip built in the background, with its
progress, its manifest and reasons, and a curl script as the alternative."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from catalog.downloads import content_disposition, iter_file
from catalog.errors import ConflictError
from catalog.order_script import order_script
from catalog.orders import (
    MAX_LISTED_DATASETS,
    OrderStatus,
    create_order,
    find_order,
    order_path,
    status_of,
)
from catalog.schemas import SearchParams
from web.deps import NowDep, PrincipalDep, SessionDep, StoreDep, forbid_unknown_query
from web.links import API_LINKS

router = APIRouter(tags=["orders"])

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad request"},
    404: {"description": "No such order"},
    409: {"description": "The order is not ready"},
    422: {"description": "Invalid body"},
}


class OrderRequest(BaseModel):
    """A basket (`datasets`) or every result of a search (`search`), in one format."""

    model_config = ConfigDict(extra="forbid")

    datasets: list[Name] | None = Field(None, min_length=1, max_length=MAX_LISTED_DATASETS)
    search: SearchParams | None = None
    format: str = Field("original", max_length=16)


@router.post("/orders", status_code=202, responses=ERRORS)
def post_order(
    body: OrderRequest,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    now: NowDep,
) -> OrderStatus:
    """Queue an order; follow it at the `Location` it answers with."""
    order = create_order(
        session, principal, now, datasets=body.datasets, search=body.search, format=body.format
    )
    session.commit()
    response.headers["Location"] = API_LINKS.order(order.public_id)
    return status_of(order)


@router.get("/orders/{order_id}", responses=ERRORS, dependencies=[forbid_unknown_query()])
def get_order(
    order_id: str, response: Response, session: SessionDep, principal: PrincipalDep
) -> OrderStatus:
    """How far the order has come, what was left out and why."""
    response.headers["Cache-Control"] = "no-store"
    return status_of(find_order(session, order_id, principal))


@router.get(
    "/orders/{order_id}/zip",
    response_class=StreamingResponse,
    responses=ERRORS | {200: {"content": {"application/zip": {}}}},
    dependencies=[forbid_unknown_query()],
)
def get_order_zip(
    order_id: str, session: SessionDep, store: StoreDep, principal: PrincipalDep
) -> StreamingResponse:
    """The order's zip once it is ready (files, a README each, the manifest)."""
    order = find_order(session, order_id, principal)
    if order.state != "ready":
        raise ConflictError(f"order {order_id} is {order.state}, not ready")
    path = order_path(store, order.public_id)
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": content_disposition(f"fieldcat_order_{order.public_id}.zip"),
        "Content-Length": str(path.stat().st_size),
    }
    return StreamingResponse(iter_file(path), media_type="application/zip", headers=headers)


@router.get(
    "/orders/{order_id}/script",
    response_class=StreamingResponse,
    responses=ERRORS | {200: {"content": {"text/x-shellscript": {}}}},
    dependencies=[forbid_unknown_query()],
)
def get_order_script(
    order_id: str, request: Request, session: SessionDep, principal: PrincipalDep, now: NowDep
) -> StreamingResponse:
    """A curl script fetching each dataset of the order directly (reasons for the rest)."""
    order = find_order(session, order_id, principal)
    lines = list(order_script(session, order, API_LINKS, str(request.base_url), now))
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": content_disposition(f"fieldcat_order_{order.public_id}.sh"),
    }
    return StreamingResponse(iter(lines), media_type="text/x-shellscript", headers=headers)
