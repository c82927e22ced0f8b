"""Submission states are an enum with allowed transitions; an illegal move is refused."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from catalog.errors import IllegalTransitionError
from catalog.storage import ArchiveStore
from catalog.submission_models import (
    FINAL_STATES,
    FIRST_STATES,
    TRANSITIONS,
    Submission,
    SubmissionState,
    check_transition,
)
from submissions.acceptance import SubmitOptions
from submissions.pipeline import Intake, open_ticket, set_state
from tests.submissions.conftest import NOW, OWNER

S = SubmissionState


def test_the_pipeline_path_and_its_exits() -> None:
    assert FIRST_STATES == {S.RECEIVED, S.STAGED}
    assert set(FINAL_STATES) == {S.REGISTERED, S.REJECTED}
    path = [S.RECEIVED, S.STAGED, S.VALIDATED, S.ARCHIVED, S.REGISTERED]
    for current, new in itertools.pairwise(path):
        assert check_transition(current, new) is new
    for state in (S.RECEIVED, S.STAGED, S.VALIDATED, S.ARCHIVED):
        assert check_transition(state, S.REJECTED) is S.REJECTED


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.RECEIVED, S.VALIDATED),  # validating bytes not all staged
        (S.RECEIVED, S.REGISTERED),
        (S.STAGED, S.ARCHIVED),  # archiving an unvalidated file
        (S.STAGED, S.REGISTERED),
        (S.REGISTERED, S.REJECTED),  # final states stay final
        (S.REJECTED, S.STAGED),
        (S.REJECTED, S.REGISTERED),
        (S.VALIDATED, S.RECEIVED),
    ],
)
def test_illegal_moves_are_refused(current: S, new: S) -> None:
    with pytest.raises(IllegalTransitionError):
        check_transition(current, new)


def test_every_pair_follows_the_table() -> None:
    for current, new in itertools.product(SubmissionState, repeat=2):
        allowed = new in TRANSITIONS[current]
        try:
            check_transition(current, new)
            moved = True
        except IllegalTransitionError:
            moved = False
        assert moved == allowed, (current, new)


def test_a_stored_submission_refuses_an_illegal_move(
    session_factory: sessionmaker[Session], store: ArchiveStore, samples: Path, db: Session
) -> None:
    intake = Intake(session_factory, store, OWNER, "JOSS", "INDOEX", "api", SubmitOptions(), NOW)
    with pytest.raises(IllegalTransitionError):
        open_ticket(intake, "late.txt", S.ARCHIVED, "x", None)
    ticket = open_ticket(intake, "track.txt", S.RECEIVED, store.new_staging_path().name, None)
    with pytest.raises(IllegalTransitionError):
        set_state(intake, ticket, S.ARCHIVED)
    held = db.get_one(Submission, ticket.row_id).state
    assert held == S.RECEIVED, "the refused move left no trace"
    set_state(intake, ticket, S.REJECTED)
    with pytest.raises(IllegalTransitionError):
        set_state(intake, ticket, S.STAGED)
    db.expire_all()
    assert db.get_one(Submission, ticket.row_id).state == S.REJECTED, (
        "the refused move left no trace"
    )
