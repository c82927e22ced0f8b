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
from schemathesis import checks

from archive_center.app import create_app
from tests.archive_center.conftest import make_settings, seed

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 20


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The seeded app's OpenAPI document, loaded by schemathesis over ASGI."""
    app = create_app(make_settings(tmp_path_factory.mktemp("fuzz"), None))
    with TestClient(app):
        seed(app)
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


def test_every_operation_answers_within_its_schema(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 7
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        run()
