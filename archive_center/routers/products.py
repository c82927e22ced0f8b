"""Field-catalog products: the list, each file, and image thumbnails."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse

from catalog.downloads import content_disposition
from submissions.schemas import ProductList
from submissions.service import product_file, products_page
from web.deps import PrincipalDep, SessionDep, StoreDep

router = APIRouter(tags=["products"])
PUBLIC_CACHE = "public, max-age=3600"
ProductId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a product's id")]


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
        session, store, principal, source=source, name=name, start=start, end=end, limit=limit
    )


@router.get("/products/{product_id}/file", response_class=FileResponse)
def get_product_file(
    product_id: ProductId, session: SessionDep, store: StoreDep, principal: PrincipalDep
) -> FileResponse:
    """A product's archived file."""
    found = product_file(session, store, product_id, principal)
    headers = {"Content-Disposition": content_disposition(found.filename)}
    headers["Cache-Control"] = PUBLIC_CACHE if found.is_public else "no-store"
    return FileResponse(found.path, media_type=found.media_type, headers=headers)


@router.get("/products/{product_id}/thumbnail", response_class=FileResponse)
def get_product_thumbnail(
    product_id: ProductId, session: SessionDep, store: StoreDep, principal: PrincipalDep
) -> FileResponse:
    """A product image's thumbnail (PNG, at most 256 px a side)."""
    found = product_file(session, store, product_id, principal, thumbnail=True)
    headers = {"Cache-Control": PUBLIC_CACHE if found.is_public else "no-store"}
    return FileResponse(found.path, media_type="image/png", headers=headers)
