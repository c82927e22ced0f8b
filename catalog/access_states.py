"""The access states of a dataset, declared once: the policy (`access`), the table's CHECK
constraint (`models`), the change log and the mirror all read them from here.

A module of its own (no catalog imports) so that `models` can build its constraint from the
enum while `access` imports `models` for its SQL filters.
"""

from __future__ import annotations

import enum


class AccessState(enum.StrEnum):
    """Stored access state of a dataset."""

    OPEN = "open"
    EMBARGOED = "embargoed"
    PASSWORD = "password"  # noqa: S105 - a state name, not a secret
    CAMPAIGN = "campaign"
    """Data readable by every member of the dataset's campaign until `release_at`, then open."""
    PRIVATE = "private"
    WITHDRAWN = "withdrawn"


SHARED_STATES = (
    AccessState.OPEN,
    AccessState.EMBARGOED,
    AccessState.PASSWORD,
    AccessState.CAMPAIGN,
)
"""The states a peer learns of (it mirrors these records)."""
RELEASING_STATES = (AccessState.EMBARGOED, AccessState.PASSWORD, AccessState.CAMPAIGN)
"""The states that become open by themselves at `release_at`."""
NAMED_READER_STATES = (AccessState.EMBARGOED, AccessState.PASSWORD, AccessState.CAMPAIGN)
"""The states whose data a dataset's named readers may read before the release."""
