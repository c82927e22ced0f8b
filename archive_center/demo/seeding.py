"""Register generated campaign files in a center through the real submission pipeline.

Each file goes through `submissions.pipeline.submit_file` exactly as an upload would
(staged, validated, archived, registered, with its submission record), so the demo exercises
the real intake. Each center has two demo users (`ensure_demo_users`): its PI `pi-<code>` and
its staff `staff-<code>`, both with the documented password `DEMO_PASSWORD`. The staff user
submits (staff may set the demo's long embargo) on behalf of the PI, who owns every dataset:
so nobody can take a demo dataset over by sending a higher DATA VERSION, and signing in as
the PI shows a PI's own (embargoed) data. Product images (`source.YYMMDDHHmm.name.png`)
become field-catalog products.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from catalog.schemas import Principal
    from catalog.storage import ArchiveStore
    from web.settings import Settings

logger = logging.getLogger(__name__)

DEMO_EMBARGO = timedelta(days=365)
"""How long the demo's embargoed example stays closed after seeding."""
SEED_RECEIVER = "seed"
DEMO_PASSWORD = "fieldcat-demo"  # noqa: S105 - documented in the README, printed by the demo
"""The demo users' password: fixed and printed, since the demo runs on loopback only."""


@dataclass(frozen=True)
class DemoUsers:
    """A center's demo PI and staff user, as submitters."""

    pi: Principal
    staff: Principal


def demo_usernames(center_code: str) -> tuple[str, str]:
    """The demo PI's and staff user's names at a center: `pi-joss`, `staff-joss`."""
    code = center_code.lower()
    return f"pi-{code}", f"staff-{code}"


def ensure_demo_users(session: Session, center_code: str, now: datetime) -> DemoUsers:
    """The center's demo PI and staff user, made (password `DEMO_PASSWORD`) when missing."""
    from sqlalchemy import select

    from catalog.models import User
    from catalog.schemas import Principal, Role
    from catalog.users import create_user

    found = []
    for name, role, title in zip(
        demo_usernames(center_code), (Role.PI, Role.STAFF), ("PI", "staff"), strict=True
    ):
        user = session.scalars(select(User).where(User.username == name)).one_or_none()
        if user is None:
            user = create_user(
                session, username=name, password=DEMO_PASSWORD, role=role,
                display_name=f"Demo {title} ({center_code})", now=now,
            )  # fmt: skip
        found.append(Principal(user_id=user.id, username=user.username, role=Role(user.role)))
    return DemoUsers(pi=found[0], staff=found[1])


class SeedingError(Exception):
    """A generated file was not accepted: the demo's generator and the validator disagree."""


def seed_file(
    sessions: sessionmaker[Session],
    store: ArchiveStore,
    settings: Settings,
    path: Path,
    *,
    users: DemoUsers | None = None,
    release_at: datetime | None,
    now: datetime,
) -> str | None:
    """Submit one file as the demo staff user, owned by the demo PI; the dataset's public id
    (None for a product). A `release_at` registers the dataset under embargo until then.
    Without `users`, the center's demo users are made or found first.
    """
    from submissions.acceptance import SubmitOptions

    if users is None:
        with sessions() as session, session.begin():
            users = ensure_demo_users(session, settings.center_code, now)
    from submissions.pipeline import submit_file

    options = SubmitOptions(
        access="embargoed" if release_at is not None else None,
        release_at=release_at,
        max_bytes=settings.max_upload_bytes,
        limits=settings.limits.to_limits(),
        owner_user_id=users.pi.user_id,
    )
    result = submit_file(
        sessions, store, source=path, original_name=path.name,
        submitter=users.staff,
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

    The center's demo users are made first (`ensure_demo_users`). Files named in `embargoed`
    stay under embargo for `DEMO_EMBARGO` from `now`, so the demo
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
        with sessions() as session, session.begin():
            users = ensure_demo_users(session, settings.center_code, when)
        for path in files:
            release_at = when + DEMO_EMBARGO if path.name in embargoed else None
            public_id = seed_file(
                sessions, store, settings, path, users=users, release_at=release_at, now=when
            )
            if public_id is not None:
                public_ids.append(public_id)
            if on_file is not None:
                on_file(path)
    finally:
        engine.dispose()
    logger.info("seeded %d datasets into %s", len(public_ids), settings.center_code)
    return public_ids
