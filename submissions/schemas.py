"""What the submission and product routes return."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from catalog.links import ResourceLinks
from catalog.models import Product
from submissions.intake import SubmissionResult


class SubmissionOut(BaseModel):
    """A submission: its state, what it became, and its report (text and JSON)."""

    id: str
    state: str
    kind: str
    original_name: str
    size: int
    sha256: str
    dataset: str | None
    product: int | None
    duplicate: bool
    warnings: list[dict[str, Any]]
    report: dict[str, Any]
    report_text: str
    created_at: datetime | None
    links: dict[str, str]

    @classmethod
    def of(cls, result: SubmissionResult, links: ResourceLinks) -> SubmissionOut:
        """The output form of a pipeline result, with the API's links (`links` builds them)."""
        found = {"self": links.submission(result.submission_id)}
        if result.dataset_public_id:
            found["dataset"] = links.dataset(result.dataset_public_id)
        if result.product_id is not None:
            found["product"] = links.product(result.product_id, "file")
        return cls(
            id=result.submission_id,
            state=result.state,
            kind=result.kind,
            original_name=result.original_name,
            size=result.size,
            sha256=result.sha256,
            dataset=result.dataset_public_id,
            product=result.product_id,
            duplicate=result.duplicate,
            warnings=result.warnings,
            report=result.report,
            report_text=result.report_text,
            created_at=result.created_at,
            links=found,
        )


class SubmissionList(BaseModel):
    """Submissions, newest first."""

    items: list[SubmissionOut]


class ProductOut(BaseModel):
    """A field-catalog product."""

    id: int
    public_id: str
    filename: str
    source: str
    time: datetime
    product_name: str
    ext: str
    size: int
    sha256: str
    center: str
    """The origin center (where the product was filed)."""
    is_mirror: bool
    links: dict[str, str]

    @classmethod
    def of(cls, product: Product, has_thumbnail: bool, links: ResourceLinks) -> ProductOut:
        """The output form of a product row, with the API's links (`links` builds them)."""
        found = {"file": links.product(product.id, "file")}
        if has_thumbnail:
            found["thumbnail"] = links.product(product.id, "thumbnail")
        return cls(
            id=product.id,
            public_id=product.public_id,
            filename=product.filename,
            source=product.source,
            time=product.product_time,
            product_name=product.product_name,
            ext=product.ext,
            size=product.size,
            sha256=product.sha256,
            center=product.center_code,
            is_mirror=product.origin_ref is not None,
            links=found,
        )


class ProductList(BaseModel):
    """Products, newest product time first."""

    items: list[ProductOut]
