"""Field-catalog products: the list, each file, and image thumbnails."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse, RedirectResponse, Response

from catalog.downloads import content_disposition
from catalog.field_records import withdraw_field_record
from catalog.sqltypes import INT32_MAX
from catalog.submission_records import get_product
from submissions.schemas import ProductList
from submissions.service import product_file, products_page
from web.deps import (
    NowDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    StaffDep,
    StoreDep,
    forbid_unknown_query,
)
from web.links import API_LINKS
from web.responses import cache_headers

router = APIRouter(tags=["products"])
ProductId = Annotated[int, Path(ge=1, le=INT32_MAX, description="a product's id")]


@router.get("/products", response_model=ProductList)
def list_products(
    session: SessionDep,
    store: StoreDep,
    principal: PrincipalDep,
    source: Annotated[str | None, Query(max_length=100)] = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ProductList:
    """Products, newest first, by source, product name and time."""
    return products_page(
        session,
        store,
        principal,
        links=API_LINKS,
        source=source,
        name=name,
        start=start,
        end=end,
        limit=limit,
    )


WITHDRAW_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not staff"},
    404: {"description": "No such product"},
    409: {"description": "Held by another center: withdraw it there"},
}
MIRROR: dict[int | str, dict[str, Any]] = {
    307: {"description": "Held by another center: the same file there"}
}


def _redirect(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=307, headers=cache_headers(False))


@router.get("/products/{product_id}/file", response_class=FileResponse, responses=MIRROR)
def get_product_file(
    product_id: ProductId, session: SessionDep, store: StoreDep, principal: PrincipalDep
) -> Response:
    """A product's archived file (a mirrored product's: a redirect to its origin)."""
    found = product_file(session, store, product_id, principal, links=API_LINKS)
    if found.redirect is not None:
        return _redirect(found.redirect)
    headers = {"Content-Disposition": content_disposition(found.filename)}
    headers |= cache_headers(found.is_public)
    return FileResponse(found.path, media_type=found.media_type, headers=headers)


@router.get("/products/{product_id}/thumbnail", response_class=FileResponse, responses=MIRROR)
def get_product_thumbnail(
    product_id: ProductId, session: SessionDep, store: StoreDep, principal: PrincipalDep
) -> Response:
    """A product image's thumbnail (PNG, at most 256 px a side; mirrored: a redirect)."""
    found = product_file(session, store, product_id, principal, links=API_LINKS, thumbnail=True)
    if found.redirect is not None:
        return _redirect(found.redirect)
    headers = cache_headers(found.is_public)
    return FileResponse(found.path, media_type="image/png", headers=headers)


@router.delete(
    "/products/{product_id}",
    status_code=204,
    responses=WITHDRAW_ERRORS,
    dependencies=[forbid_unknown_query("reason")],
)
def delete_product(
    product_id: ProductId,
    reason: Annotated[str, Query(min_length=3, max_length=2000)],
    session: SessionDep,
    settings: SettingsDep,
    staff: StaffDep,
    now: NowDep,
) -> Response:
    """Staff: withdraw a product of this center (a tombstone travels to the peers)."""
    product = get_product(session, product_id, staff)
    withdraw_field_record(
        session, product, local_code=settings.center_code, actor=staff, reason=reason, now=now
    )
    return Response(status_code=204)
