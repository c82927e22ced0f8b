"""Fixtures of the formats tests: the sample files of `tests/fixtures/samples/`."""

from __future__ import annotations

from pathlib import Path

import pytest

from formats import CampaignTime
from tests.conftest import SAMPLES

CAMPAIGN = CampaignTime(year=1999)


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The sample files (`valid/`, `invalid/`, `real/`)."""
    assert SAMPLES.is_dir(), f"sample files missing from the repository: {SAMPLES}"
    return SAMPLES


def valid_samples() -> list[Path]:
    """Every valid header-format sample."""
    return sorted((SAMPLES / "valid").glob("*.txt"))


def invalid_samples() -> list[Path]:
    """Every invalid sample."""
    return sorted((SAMPLES / "invalid").iterdir())
