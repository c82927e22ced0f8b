"""A closing center: once it has offered its records to another (`fieldcat handover`), it
takes no new data and changes none of its own records (docs/field-catalog.md, "Hand-over").

The hand-over's completion turns every record the closing center originated into a mirror of
the new origin; a record made or changed after the manifest would become a mirror of one the
new origin never received (or of an older version of it).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import ConflictError
from catalog.federation_models import Handover


def closing_to(session: Session, center_code: str) -> str | None:
    """The center that `center_code` hands its records over to, once it has offered them
    (`fieldcat handover`); None while it is not closing."""
    query = select(Handover.to_center).where(Handover.from_center == center_code)
    return session.scalar(query.limit(1))


def refuse_if_closing(session: Session, center_code: str) -> None:
    """ConflictError (409) when this center is handing its records over, naming where to go."""
    target = closing_to(session, center_code)
    if target is not None:
        raise ConflictError(
            f"{center_code} is handing its records over to {target} and takes no new data "
            f"or changes: send this to {target}"
        )
