"""What the submission and product routes return."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

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
    def of(cls, result: SubmissionResult, api_prefix: str = "/api/v1") -> SubmissionOut:
        """The output form of a pipeline result."""
        links = {"self": f"{api_prefix}/submissions/{result.submission_id}"}
        if result.dataset_public_id:
            links["dataset"] = f"{api_prefix}/datasets/{result.dataset_public_id}"
        if result.product_id is not None:
            links["product"] = f"{api_prefix}/products/{result.product_id}/file"
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
            links=links,
        )


class SubmissionList(BaseModel):
    """Submissions, newest first."""

    items: list[SubmissionOut]


class ProductOut(BaseModel):
    """A field-catalog product."""

    id: int
    filename: str
    source: str
    time: datetime
    product_name: str
    ext: str
    size: int
    sha256: str
    center: str
    links: dict[str, str]

    @classmethod
    def of(cls, product: Product, has_thumbnail: bool, api_prefix: str = "/api/v1") -> ProductOut:
        """The output form of a product row."""
        links = {"file": f"{api_prefix}/products/{product.id}/file"}
        if has_thumbnail:
            links["thumbnail"] = f"{api_prefix}/products/{product.id}/thumbnail"
        return cls(
            id=product.id,
            filename=product.filename,
            source=product.source,
            time=product.product_time,
            product_name=product.product_name,
            ext=product.ext,
            size=product.size,
            sha256=product.sha256,
            center=product.center_code,
            links=links,
        )


class ProductList(BaseModel):
    """Products, newest product time first."""

    items: list[ProductOut]
