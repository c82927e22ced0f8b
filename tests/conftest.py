"""Shared fixtures: sample paths, and the rule that a missing external part skips its tests
with the reason, unless FIELDCAT_REQUIRE_ALL=1 (as in CI) turns that skip into a failure.

The sample files live in the repository (`tests/fixtures/samples/`, their README says where
each comes from), so a fresh clone tests on its own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "tests" / "fixtures" / "samples"


def require(condition: bool, reason: str) -> None:
    """Skip the calling test when `condition` is false, or fail it under FIELDCAT_REQUIRE_ALL=1."""
    if condition:
        return
    if os.environ.get("FIELDCAT_REQUIRE_ALL") == "1":
        pytest.fail(f"required part missing (FIELDCAT_REQUIRE_ALL=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def samples() -> Path:
    """The sample files (`valid/`, `invalid/`, `real/`) of `tests/fixtures/samples/`."""
    assert SAMPLES.is_dir(), f"sample files missing from the repository: {SAMPLES}"
    return SAMPLES
