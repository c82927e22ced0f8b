"""The center's `[limits]` reach validation: settings -> SubmitOptions -> the report, and a
submission re-validated after a crash keeps the caps it was received under."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from archive_center.routers.submissions import form_options
from catalog.submission_models import Submission
from formats import Limits
from submissions.acceptance import SubmitOptions
from submissions.reconcile import _options
from tests.formats.hostile import header_file, wide_file
from tests.submissions.conftest import Submit
from web.settings import Settings, load_settings


def test_settings_give_the_formats_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().limits.to_limits() == Limits()
    config = tmp_path / "fieldcat.toml"
    config.write_text("[limits]\nmax_columns = 5000\nmax_line_chars = 1048576\n")
    monkeypatch.setenv("FIELDCAT_LIMITS__MAX_REMARKS_CHARS", "2048")
    limits = load_settings(config).limits.to_limits()
    assert limits == Limits(max_columns=5000, max_line_chars=1 << 20, max_remarks_chars=2048)


def test_absurd_limits_are_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="max_columns"):
        Settings(limits={"max_columns": 1})


def test_the_upload_form_passes_the_center_limits() -> None:
    settings = Settings(limits={"max_columns": 3})
    _campaign, options = form_options({}, settings)
    assert options.limits.max_columns == 3


def test_a_file_over_the_center_limit_is_rejected_with_its_code(submit: Submit) -> None:
    options = SubmitOptions(limits=Limits(max_columns=10))
    result = submit(wide_file(20), "wide.txt", options=options)
    assert result.state == "rejected"
    (finding,) = result.report["diagnostics"]
    assert finding["code"] == "LIM003"
    assert finding["message"] == "the file has 21 columns; the limit is 10"
    assert "more columns" in finding["help"]
    assert submit(wide_file(20), "wide.txt").state == "registered"


def test_a_did_that_does_not_fit_is_rejected_at_validation(submit: Submit) -> None:
    data = header_file(replace=(b"DID = 31", b"DID = " + str(10**40).encode()))
    result = submit(data, "huge_did.txt")
    assert result.state == "rejected"
    assert [d["code"] for d in result.report["diagnostics"]] == ["HDR009"]


def test_reconcile_revalidates_under_the_saved_limits() -> None:
    row = Submission(options={"max_bytes": 10, "limits": {"max_columns": 7, "bogus": 1}})
    assert _options(row).limits == Limits(max_columns=7)
    assert _options(Submission(options={})).limits == Limits()
