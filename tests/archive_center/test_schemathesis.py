"""Schemathesis against the app's own OpenAPI document: no 5xx, no answer outside it.

The operations are driven with hypothesis directly (`APIOperation.as_strategy`), which
keeps the test independent of schemathesis' pytest plugin.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from archive_center.app import create_app
from tests.archive_center.conftest import make_settings, seed

pytestmark = pytest.mark.slow  # every operation, about a minute

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 20


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, list[str]]]:
    """The seeded app's OpenAPI document (loaded by schemathesis over ASGI) and its ids."""
    app = create_app(make_settings(tmp_path_factory.mktemp("fuzz"), None))
    with TestClient(app):
        ids = seed(app)
        yield schemathesis.openapi.from_asgi("/openapi.json", app), sorted(ids.values())


def with_real_ids(cases: Any, ids: list[str]) -> Any:
    """Cases whose `public_id` is, half of the time, a dataset that exists."""

    def pick(pair: tuple[schemathesis.Case, str | None]) -> schemathesis.Case:
        case, public_id = pair
        if public_id is not None:
            case.path_parameters = {**(case.path_parameters or {}), "public_id": public_id}
        return case

    return st.tuples(cases, st.one_of(st.none(), st.sampled_from(ids))).map(pick)


def test_every_operation_answers_within_its_schema(api_schema: tuple[Any, list[str]]) -> None:
    schema, ids = api_schema
    operations = [result.ok() for result in schema.get_all_operations()]
    # Every API operation is exercised: node 8 (with the citation), access 9 (with the claim
    # and its approval), submissions and products 6, reports 3, federation 4, CIDS 5 (navigation
    # and merges, each listed and posted; collocate), OPeNDAP 1, standard faces 18 (STAC 9,
    # OAI-PMH 2, Atom 2, DataCite and DOI 2, saved searches 3), registry (with calibration
    # certificates, place edits, single calibration and deployment removals), QC, levels, jobs
    # and transfers 24, per-level access 1, field catalog 22
    # (withdrawals, drops, mail and its held mail decisions, hand-over, expected with its edit
    # and withdrawal,
    # systems), portal 6 (suggestions, track, orders), shared access 13 (assertions,
    # vouched sessions, readers, access requests, follows, claims). A new route must raise this
    # count, so it cannot slip by.
    assert len(operations) == 120
    for operation in operations:
        cases = operation.as_strategy()
        if "{public_id}" in operation.path:
            cases = with_real_ids(cases, ids)

        @given(case=cases)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        run()
