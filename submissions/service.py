"""Read side of the intake: a caller's submissions and the field-catalog products."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from catalog.downloads import center_base_url
from catalog.errors import NotFoundError
from catalog.links import ProductView, ResourceLinks
from catalog.models import Product
from catalog.schemas import Principal
from catalog.storage import ArchiveStore
from catalog.submission_records import (
    get_product,
    list_products,
    list_submissions,
    products_of_dataset,
    visible_submission,
)
from submissions.intake import SubmissionResult, result_of
from submissions.names import IMAGE_EXTENSIONS
from submissions.products import thumbnail_path
from submissions.schemas import ProductList, ProductOut

PRODUCT_MEDIA_TYPES = {
    "gif": "image/gif", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
    "tif": "image/tiff", "tiff": "image/tiff", "pdf": "application/pdf",
    "ps": "application/postscript", "eps": "application/postscript",
    "txt": "text/plain; charset=utf-8", "html": "text/html; charset=utf-8",
    "htm": "text/html; charset=utf-8",
}  # fmt: skip


def get_submission(session: Session, public_id: str, principal: Principal) -> SubmissionResult:
    """A submission its PI or staff may see (others: not found)."""
    return result_of(visible_submission(session, public_id, principal))


def my_submissions(
    session: Session, principal: Principal, *, mine: bool = True, limit: int = 100
) -> list[SubmissionResult]:
    """The caller's submissions, newest first (staff: everyone's unless `mine`)."""
    return [result_of(r) for r in list_submissions(session, principal, mine=mine, limit=limit)]


def products_page(
    session: Session,
    store: ArchiveStore,
    principal: Principal,
    *,
    links: ResourceLinks,
    source: str | None = None,
    name: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 100,
) -> ProductList:
    """Products for listing, with links (from the web layer's `links`) to file and thumbnail."""
    rows = list_products(
        session, principal, source=source, name=name, start=start, end=end, limit=limit
    )
    return ProductList(items=[ProductOut.of(p, has_thumbnail(store, p), links) for p in rows])


def dataset_products(
    session: Session,
    store: ArchiveStore,
    principal: Principal,
    platform: str,
    start: datetime | None,
    stop: datetime | None,
    *,
    links: ResourceLinks,
) -> list[ProductOut]:
    """The products of a dataset's platform on the days it covers, for its page."""
    rows = products_of_dataset(session, principal, platform, start, stop)
    return [ProductOut.of(p, has_thumbnail(store, p), links) for p in rows]


def has_thumbnail(store: ArchiveStore, product: Product) -> bool:
    """Whether a product image has its thumbnail (on disk here, or at a mirror's origin)."""
    if product.origin_ref is not None:
        return product.ext in IMAGE_EXTENSIONS
    return product.ext in IMAGE_EXTENSIONS and thumbnail_path(store, product.sha256).is_file()


@dataclass(frozen=True)
class ProductFile:
    """A product's bytes on disk, ready to send."""

    path: Path
    media_type: str
    filename: str
    is_public: bool = True
    """Anyone may see it (so caches may keep it)."""
    redirect: str | None = None
    """A mirrored product's same file at its origin (absolute URL): answer with it instead."""


def product_file(
    session: Session,
    store: ArchiveStore,
    product_id: int,
    principal: Principal,
    *,
    links: ResourceLinks,
    thumbnail: bool = False,
) -> ProductFile:
    """The archived product (or its thumbnail); NotFoundError when there is none.

    A mirrored product's bytes stay at its origin: the answer names its URL there (`links`
    builds the path), which the route sends as a redirect.
    """
    product = get_product(session, product_id, principal)
    view: ProductView = "thumbnail" if thumbnail else "file"
    if product.origin_ref is not None:
        base = center_base_url(session, product.center_code)
        if base is not None:
            target = base + links.product(product.origin_ref, view)
            return ProductFile(Path(), "", product.filename, redirect=target)
    if thumbnail:
        path = thumbnail_path(store, product.sha256)
        if not path.is_file():
            raise NotFoundError("this product has no thumbnail")
        name = f"{Path(product.filename).stem}.thumb.png"
        return ProductFile(path, "image/png", name, product.access_state == "open")
    media = PRODUCT_MEDIA_TYPES.get(product.ext, "application/octet-stream")
    path = store.original_path(product.sha256)
    return ProductFile(path, media, product.filename, product.access_state == "open")
