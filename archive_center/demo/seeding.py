"""Register generated campaign files in a center, the in-process way.

Until the submissions issue lands, each file goes `formats.read` ->
`ArchiveStore.put_original` -> `register_datafile`, committed in one transaction per file
(the row is committed after the original is renamed into place, as DESIGN.md asks). Once the
submission pipeline exists, seeding switches to it so the demo exercises the real intake.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from archive_center.settings import Settings
    from catalog.storage import ArchiveStore
    from formats import CampaignTime

logger = logging.getLogger(__name__)

DEMO_EMBARGO = timedelta(days=365)
"""How long the demo's embargoed example stays closed after seeding."""


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
    session: Session,
    store: ArchiveStore,
    settings: Settings,
    path: Path,
    *,
    release_at: datetime | None,
    now: datetime,
) -> str:
    """Read, archive and register one file (the caller commits); the dataset's public id.

    A `release_at` registers the dataset under embargo until then.
    """
    import formats
    from catalog.registration import register_datafile

    datafile = formats.read(path, campaign=campaign_time(settings), filename=path.name)
    staged = store.new_staging_path()
    shutil.copyfile(path, staged)
    sha256, stored = store.put_original(staged)
    dataset = register_datafile(
        session,
        datafile=datafile,
        sha256=sha256,
        size=stored.stat().st_size,
        original_name=path.name,
        center_code=settings.center_code,
        campaign_code=settings.campaign.code,
        category=datafile.header.category,
        access_state="embargoed" if release_at is not None else None,
        release_at=release_at,
        now=now,
    )
    return dataset.public_id


def seed_center(
    settings: Settings,
    files: Sequence[Path],
    *,
    embargoed: Collection[str] = frozenset(),
    now: datetime | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> list[str]:
    """Archive and register each data file in the center; return the datasets' public ids.

    One transaction per file, committed after the original is in place. Files named in
    `embargoed` stay under embargo for `DEMO_EMBARGO` from `now`, so the demo shows
    searchable metadata whose data is not yet released.
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
            with sessions() as session, session.begin():
                public_ids.append(
                    seed_file(session, store, settings, path, release_at=release_at, now=when)
                )
            if on_file is not None:
                on_file(path)
    finally:
        engine.dispose()
    logger.info("seeded %d datasets into %s", len(public_ids), settings.center_code)
    return public_ids
