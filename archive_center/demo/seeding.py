"""Register generated campaign files in a center through the real submission pipeline.

Each file goes through `submissions.pipeline.submit_file` exactly as an upload would
(staged, validated, archived, registered, with its submission record), submitted by the
center's own seeding account with staff rights, so the demo exercises the real intake.
Product images (`source.YYMMDDHHmm.name.png`) become field-catalog products.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from catalog.storage import ArchiveStore
    from formats import CampaignTime
    from web.settings import Settings

logger = logging.getLogger(__name__)

DEMO_EMBARGO = timedelta(days=365)
"""How long the demo's embargoed example stays closed after seeding."""
SEED_RECEIVER = "seed"


class SeedingError(Exception):
    """A generated file was not accepted: the demo's generator and the validator disagree."""


def campaign_time(settings: Settings) -> CampaignTime:
    """The configured campaign period, which places year-less times."""
    from formats import CampaignTime

    period = settings.campaign
    return CampaignTime(
        year=period.start.year,
        start=datetime.combine(period.start, time.min, tzinfo=UTC),
        end=datetime.combine(period.end, time.max, tzinfo=UTC),
    )


def seed_file(
    sessions: sessionmaker[Session],
    store: ArchiveStore,
    settings: Settings,
    path: Path,
    *,
    release_at: datetime | None,
    now: datetime,
) -> str | None:
    """Submit one file; the dataset's public id (None for a product).

    A `release_at` registers the dataset under embargo until then.
    """
    from catalog.schemas import Principal, Role
    from submissions.acceptance import SubmitOptions
    from submissions.pipeline import submit_file

    options = SubmitOptions(
        access="embargoed" if release_at is not None else None,
        release_at=release_at,
        max_bytes=settings.max_upload_bytes,
    )
    result = submit_file(
        sessions, store, source=path, original_name=path.name,
        submitter=Principal(username="demo-seeding", role=Role.STAFF),
        center_code=settings.center_code, campaign=settings.campaign.code,
        receiver=SEED_RECEIVER, options=options, now=now,
    )  # fmt: skip
    if not result.accepted:
        raise SeedingError(f"{path.name} was rejected:\n{result.report_text}")
    return result.dataset_public_id


def seed_center(
    settings: Settings,
    files: Sequence[Path],
    *,
    embargoed: Collection[str] = frozenset(),
    now: datetime | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> list[str]:
    """Submit each file to the center; return the datasets' public ids (products aside).

    Files named in `embargoed` stay under embargo for `DEMO_EMBARGO` from `now`, so the demo
    shows searchable metadata whose data is not yet released. Seeding again changes nothing:
    the same bytes are one submission.
    """
    from catalog.db import make_engine, make_session_factory
    from catalog.storage import ArchiveStore

    when = now or datetime.now(UTC)
    store = ArchiveStore(settings.root)
    engine = make_engine(settings.effective_database_url)
    public_ids = []
    try:
        sessions = make_session_factory(engine)
        for path in files:
            release_at = when + DEMO_EMBARGO if path.name in embargoed else None
            public_id = seed_file(sessions, store, settings, path, release_at=release_at, now=when)
            if public_id is not None:
                public_ids.append(public_id)
            if on_file is not None:
                on_file(path)
    finally:
        engine.dispose()
    logger.info("seeded %d datasets into %s", len(public_ids), settings.center_code)
    return public_ids
