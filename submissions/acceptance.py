"""Whether a valid file may become a version: DID ownership, DATA VERSION order, access.

A DID belongs, within its campaign, to the PI who first submitted it (staff may reassign).
A dataset without an owner (seeded or sent by staff, dropped by FTP or the watched folder)
takes new versions from staff, the center's own receivers, or a PI whose claim on it staff
approved (catalog/claims.py); any other PI is refused (SUB010), never made its owner. Different
bytes need a higher DATA VERSION unless staff override; the same bytes twice are
one submission. Access choices must stay within the campaign's release policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from catalog.access import PRIVILEGED, AccessState
from catalog.claims import claim_of
from catalog.models import Campaign, Dataset
from catalog.registration import default_release_at, find_local_dataset
from catalog.schemas import Principal, Role
from formats.limits import DEFAULT_LIMITS, Limits
from formats.model import DataFile
from submissions.errors import SubmissionForbiddenError

SUBMITTABLE_STATES = (
    AccessState.OPEN,
    AccessState.EMBARGOED,
    AccessState.CAMPAIGN,
    AccessState.PRIVATE,
)


@dataclass(frozen=True)
class SubmitOptions:
    """Choices a submitter makes beside the file (None: the campaign's default)."""

    category: str | None = None
    access: str | None = None
    """open, embargoed or private."""
    release_at: datetime | None = None
    override: bool = False
    """Staff only: accept different bytes under the same or a lower DATA VERSION."""
    owner_user_id: int | None = None
    """Staff only: the user the DID belongs to (reassignment)."""
    max_bytes: int = 2 * 1024**3
    limits: Limits = DEFAULT_LIMITS
    """Caps on the file's lines, header, columns and remarks (the center's `[limits]`)."""


@dataclass(frozen=True)
class Decision:
    """What registration should do with an accepted file."""

    dataset: Dataset | None
    duplicate: bool
    access_state: str | None
    release_at: datetime | None
    owner_user_id: int | None


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key for DATA VERSION strings: numbers compare as numbers ('10' > '9')."""
    parts = re.findall(r"\d+|[A-Za-z]+", version or "")
    return tuple((0, int(p)) if p.isdigit() else (1, p.lower()) for p in parts)


def is_staff(principal: Principal) -> bool:
    """Whether the submitter is center staff or an admin."""
    return principal.role in PRIVILEGED


def _check_owner(session: Session, dataset: Dataset, submitter: Principal) -> None:
    owner = dataset.owner_user_id
    if is_staff(submitter) or (owner is not None and owner == submitter.user_id):
        return
    if owner is None:
        if submitter.role is not Role.PI:
            return  # the center's own receivers (FTP drop, watched folder) feed it
        claim = claim_of(session, dataset.id, submitter.user_id)
        waiting = "your claim on it waits for staff approval" if claim else (
            f"claim it first (POST datasets/{dataset.public_id}/claim in the API, with a reason) "
            "and wait for staff approval"
        )  # fmt: skip
        raise SubmissionForbiddenError(
            "SUB010",
            f"DID {dataset.did} (dataset {dataset.public_id}) has no owner in campaign "
            f"{dataset.campaign.code}: {waiting}",
        )
    raise SubmissionForbiddenError(
        "SUB001", f"DID {dataset.did} belongs to another PI in campaign {dataset.campaign.code}"
    )


def _check_version(dataset: Dataset, datafile: DataFile, submitter: Principal, ovr: bool) -> None:
    current = dataset.current_version
    if current is None:
        return
    new, old = datafile.header.data_version, current.data_version
    if version_key(new) > version_key(old):
        return
    if ovr and is_staff(submitter):
        return
    raise SubmissionForbiddenError(
        "SUB002",
        f"DID {dataset.did} is archived with DATA VERSION {old!r}; this file has different "
        f"bytes and DATA VERSION {new!r}. Raise DATA VERSION to send a new version.",
    )


def decide_access(
    campaign: Campaign,
    category: str,
    options: SubmitOptions,
    submitter: Principal,
    *,
    existing: bool,
    now: datetime,
) -> tuple[str | None, datetime | None]:
    """The access state and release instant to register (None keeps an existing state)."""
    default_release = default_release_at(campaign, category)
    if options.access is None:
        if existing:
            return None, None
        if default_release is not None and default_release > now:
            return AccessState(campaign.default_state).value, default_release
        return AccessState.OPEN.value, None
    try:
        state = AccessState(options.access)
    except ValueError:
        state = None
    if state not in SUBMITTABLE_STATES:
        names = ", ".join(s.value for s in SUBMITTABLE_STATES)
        raise SubmissionForbiddenError("SUB004", f"access must be one of {names}")
    if state not in (AccessState.EMBARGOED, AccessState.CAMPAIGN):
        return state.value, None
    release = options.release_at or default_release
    if release is None or release <= now:
        raise SubmissionForbiddenError("SUB004", "an embargo needs a release date in the future")
    if not is_staff(submitter) and default_release is not None and release > default_release:
        raise SubmissionForbiddenError(
            "SUB004",
            f"campaign {campaign.code} releases {category} data by {default_release:%Y-%m-%d}; "
            "choose an earlier release date (staff may set a later one)",
        )
    return state.value, release


def decide(
    session: Session,
    *,
    campaign: Campaign,
    center_code: str,
    datafile: DataFile,
    sha256: str,
    category: str,
    submitter: Principal,
    options: SubmitOptions,
    now: datetime,
) -> Decision:
    """Check ownership and version order; SubmissionForbiddenError says what is refused."""
    did = None if datafile.header.did is None else str(datafile.header.did)
    dataset = find_local_dataset(session, campaign, did, center_code)
    if dataset is not None and any(v.sha256 == sha256 for v in dataset.versions):
        return Decision(dataset, True, None, None, None)
    if dataset is not None:
        if dataset.access_state == AccessState.WITHDRAWN.value:
            raise SubmissionForbiddenError("SUB005", f"DID {did}'s dataset was withdrawn")
        _check_owner(session, dataset, submitter)
        _check_version(dataset, datafile, submitter, options.override)
    state, release = decide_access(
        campaign, category, options, submitter, existing=dataset is not None, now=now
    )
    owner = submitter.user_id if dataset is None else None
    if options.owner_user_id is not None and is_staff(submitter):
        owner = options.owner_user_id
    return Decision(dataset, False, state, release, owner)
