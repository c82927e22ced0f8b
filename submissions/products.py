"""Field-catalog products (`source.YYMMDDHHmm.name.ext`): archived, listed, images thumbnailed."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

from catalog.access_states import AccessState
from catalog.closing import refuse_if_closing
from catalog.errors import ConflictError
from catalog.field_records import announce
from catalog.models import Product
from catalog.storage import ArchiveStore
from catalog.submission_models import Submission, SubmissionState
from catalog.submission_records import find_campaign, find_product
from submissions.errors import UnsafeNameError
from submissions.intake import (
    Intake,
    SubmissionResult,
    Ticket,
    finish,
    reject,
    result_of,
    set_state,
    take_duplicate,
)
from submissions.names import IMAGE_EXTENSIONS, parse_product_name
from submissions.reports import Report
from submissions.staging import StagedFile

logger = logging.getLogger(__name__)

THUMBNAIL_PX = 256
MAX_IMAGE_PIXELS = 100_000_000


def thumbnail_path(store: ArchiveStore, sha256: str) -> Path:
    """Where the thumbnail of a product image with this SHA-256 lives."""
    return store.derived_path("products", sha256, "png")


def make_thumbnail(source: Path, target: Path) -> None:
    """A PNG of at most 256 px a side (ValueError when the image cannot be read)."""
    from PIL import Image  # late: Pillow stays out of start-up, only product images need it

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(source) as image:
            image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            buffer = io.BytesIO()
            image.convert("RGBA" if image.mode in ("P", "RGBA", "LA") else "RGB").save(
                buffer, format="PNG"
            )
    except Exception as err:  # Pillow raises many kinds for a broken image
        raise ValueError(f"the image cannot be read: {type(err).__name__}") from err
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temp.write_bytes(buffer.getvalue())
    os.replace(temp, target)


def take_product(intake: Intake, ticket: Ticket, staged: StagedFile) -> SubmissionResult:
    """Archive a product file and list it (rejected with the expected pattern if misnamed)."""
    with intake.sessions() as session:
        campaign = find_campaign(session, intake.campaign_code)
        reference = campaign.start.year if campaign.start else intake.now.year
    report = Report(ticket.name, "product")
    try:
        parsed = parse_product_name(ticket.name, reference)
    except UnsafeNameError as err:
        return reject(intake, ticket, staged.path, report.refuse("SUB003", str(err)))
    set_state(intake, ticket, SubmissionState.VALIDATED, kind="product")
    if parsed.ext in IMAGE_EXTENSIONS:
        try:
            make_thumbnail(staged.path, thumbnail_path(intake.store, staged.sha256))
        except ValueError as err:
            return reject(intake, ticket, staged.path, report.refuse("SUB009", str(err)))
    with intake.sessions() as session:
        try:
            refuse_if_closing(session, intake.center_code)
        except ConflictError as err:
            return reject(intake, ticket, staged.path, report.refuse("SUB008", str(err)))
        existing = find_product(session, ticket.name, intake.center_code)
        if existing is not None and existing.sha256 == staged.sha256:
            return take_duplicate(intake, ticket, staged, report, None)
    sha256, _ = intake.store.put_original(staged.path, staged.sha256)
    set_state(intake, ticket, SubmissionState.ARCHIVED)
    with intake.sessions() as session, session.begin():
        campaign_id = find_campaign(session, intake.campaign_code).id
        product = find_product(session, ticket.name, intake.center_code)
        if product is None:
            product = Product(filename=ticket.name, origin_version=1)
            session.add(product)
        else:
            product.origin_version += 1
            report.notes.append("replaces the earlier file of this name")
        product.campaign_id = campaign_id
        product.center_code = intake.center_code
        product.source, product.product_time = parsed.source, parsed.moment
        product.product_name, product.ext = parsed.product_name, parsed.ext
        product.sha256, product.size = sha256, staged.size
        product.access_state = AccessState.OPEN.value
        product.uploaded_by = intake.submitter.user_id
        product.created_at = intake.now
        announce(session, product, intake.now)
        report.notes.append(f"listed as product {product.id} ({parsed.moment:%Y-%m-%d %H:%M} UTC)")
        row = session.get_one(Submission, ticket.row_id)
        finish(row, SubmissionState.REGISTERED, report, intake.now, product_id=product.id)
        return result_of(row)
