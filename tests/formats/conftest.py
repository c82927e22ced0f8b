"""Fixtures of the formats tests: the shared sample files, found from any worktree."""

from __future__ import annotations

from pathlib import Path

import pytest

from formats import CampaignTime
from tests.conftest import require

CAMPAIGN = CampaignTime(year=1999)


def find_samples() -> Path | None:
    """The shared samples folder: `shared/samples` beside the repository or any parent."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "samples"
        if candidate.is_dir():
            return candidate
    return None


SAMPLES = find_samples()


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The shared sample files (`valid/`, `invalid/`, `real/`)."""
    require(SAMPLES is not None, "shared samples folder not found")
    assert SAMPLES is not None
    return SAMPLES


def valid_samples() -> list[Path]:
    """Every valid header-format sample (empty when the samples are absent)."""
    return sorted((SAMPLES / "valid").glob("*.txt")) if SAMPLES else []


def invalid_samples() -> list[Path]:
    """Every invalid sample (empty when the samples are absent)."""
    return sorted((SAMPLES / "invalid").iterdir()) if SAMPLES else []
