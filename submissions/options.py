"""The one parser of a submission's text fields (the REST upload's and the web form's).

Browsers send every field of a form, empty or not, so an empty field means "not given".
Each field that cannot be read gets its own message, so the submitter learns which one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from catalog.sqltypes import INT32_MAX
from formats.limits import DEFAULT_LIMITS, Limits
from submissions.acceptance import SubmitOptions
from submissions.errors import UploadRefusedError

OPTION_FIELDS = ("campaign", "category", "access", "release_at", "override", "owner_user_id")
CSRF_FIELD = "csrf_token"
"""A web form carries its CSRF token beside the options (checked by the web layer)."""
TRUE_WORDS = ("1", "true", "yes", "on")


class SubmissionFieldsError(UploadRefusedError):
    """Some of the submission's text fields cannot be read; `problems` names each one."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in problems.items()))
        self.problems = problems


def parse_release(text: str) -> datetime:
    """An ISO 8601 instant (`YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS]`, offsets); naive is UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def submission_options(
    fields: Mapping[str, str],
    *,
    default_campaign: str,
    max_bytes: int,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[str, SubmitOptions]:
    """The campaign and `SubmitOptions` the fields name (`SubmissionFieldsError` if unreadable).

    Values are read, not judged: whether a role may use `override` or `owner_user_id`, and
    whether an access state exists, is decided by acceptance and recorded in the report.
    """
    problems: dict[str, str] = {}
    unknown = sorted(set(fields) - set(OPTION_FIELDS) - {CSRF_FIELD})
    if unknown:
        problems["form"] = f"unknown field(s) {', '.join(unknown)}"
    release = None
    if fields.get("release_at", "").strip():
        try:
            release = parse_release(fields["release_at"])
        except (ValueError, OverflowError):
            problems["release_at"] = "give a date and time as YYYY-MM-DDTHH:MM (UTC)"
    owner = None
    if fields.get("owner_user_id", "").strip():
        try:
            owner = int(fields["owner_user_id"])
        except ValueError:
            problems["owner_user_id"] = "give the owner's user id as a whole number"
        else:
            if not 1 <= owner <= INT32_MAX:
                problems["owner_user_id"] = f"give a user id from 1 to {INT32_MAX}"
    if problems:
        raise SubmissionFieldsError(problems)
    options = SubmitOptions(
        category=fields.get("category") or None,
        access=fields.get("access") or None,
        release_at=release,
        override=fields.get("override", "").strip().lower() in TRUE_WORDS,
        owner_user_id=owner,
        max_bytes=max_bytes,
        limits=limits,
    )
    return fields.get("campaign") or default_campaign, options
