"""Field-catalog products: the list, each file, and image thumbnails."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from archive_center.deps import SessionDep, StoreDep
from catalog.downloads import content_disposition
from submissions.schemas import ProductList
from submissions.service import product_file, products_page

router = APIRouter(tags=["products"])
PUBLIC_CACHE = "public, max-age=3600"


@router.get("/products", response_model=ProductList)
def list_products(
    session: SessionDep,
    store: StoreDep,
    source: Annotated[str | None, Query(max_length=100)] = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ProductList:
    """Products, newest first, by source, product name and time."""
    return products_page(
        session, store, source=source, name=name, start=start, end=end, limit=limit
    )


@router.get("/products/{product_id}/file", response_class=FileResponse)
def get_product_file(product_id: int, session: SessionDep, store: StoreDep) -> FileResponse:
    """A product's archived file."""
    found = product_file(session, store, product_id)
    headers = {"Content-Disposition": content_disposition(found.filename)}
    headers["Cache-Control"] = PUBLIC_CACHE
    return FileResponse(found.path, media_type=found.media_type, headers=headers)


@router.get("/products/{product_id}/thumbnail", response_class=FileResponse)
def get_product_thumbnail(product_id: int, session: SessionDep, store: StoreDep) -> FileResponse:
    """A product image's thumbnail (PNG, at most 256 px a side)."""
    found = product_file(session, store, product_id, thumbnail=True)
    return FileResponse(found.path, media_type="image/png", headers={"Cache-Control": PUBLIC_CACHE})
