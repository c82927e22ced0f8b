"""The one parser of a submission's text fields (REST upload and web form)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from submissions.errors import UploadRefusedError
from submissions.options import SubmissionFieldsError, submission_options


def test_fields_become_options_and_empty_means_not_given() -> None:
    campaign, options = submission_options(
        {"release_at": "1999-06-01T12:00", "access": "embargoed", "category": "",
         "override": "on", "csrf_token": "t"},
        default_campaign="INDOEX", max_bytes=10,
    )  # fmt: skip
    assert campaign == "INDOEX"
    assert options.release_at == datetime(1999, 6, 1, 12, tzinfo=UTC)
    assert options.access == "embargoed" and options.category is None
    assert options.override is True and options.max_bytes == 10


def test_offsets_are_turned_into_utc() -> None:
    _, options = submission_options(
        {"release_at": "1999-06-01T12:00+05:30"}, default_campaign="X", max_bytes=1
    )
    assert options.release_at == datetime(1999, 6, 1, 6, 30, tzinfo=UTC)


def test_each_unreadable_field_has_its_own_message() -> None:
    with pytest.raises(SubmissionFieldsError) as caught:
        submission_options(
            {"release_at": "soon", "owner_user_id": "bob", "colour": "red"},
            default_campaign="X", max_bytes=1,
        )  # fmt: skip
    problems = caught.value.problems
    assert set(problems) == {"release_at", "owner_user_id", "form"}
    assert "colour" in problems["form"]
    assert isinstance(caught.value, UploadRefusedError)  # a 400 problem on the REST route
