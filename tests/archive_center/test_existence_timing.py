"""A private dataset and a missing id answer alike: same status, same body, same SQL, same
time (SECURITY.md rows 12 and 27), for the metadata route and the data route."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from catalog import search
from catalog.models import Dataset
from tests.archive_center.conftest import Node
from tests.sql_log import recorded_statements

pytestmark = pytest.mark.solo  # compares response times
MISSING = "doesnotexist0000"
ROUTES = ("/api/v1/datasets/{id}", "/api/v1/datasets/{id}/data")


@pytest.fixture(scope="module")
def private_id(node: Node) -> str:
    """A dataset of the node made private (module-scoped node: no other test sees it)."""
    public_id = node.ids["kco_surface_hourly.txt"]
    with node.app.state.session_factory() as session, session.begin():
        session.execute(
            update(Dataset).where(Dataset.public_id == public_id).values(access_state="private")
        )
    return public_id


@pytest.fixture
def statements(node: Node) -> Iterator[list[str]]:
    """Every SQL statement the node's engine runs while the test is on."""
    with recorded_statements(node.app.state.engine) as seen:
        yield seen


@pytest.mark.parametrize("route", ROUTES)
def test_private_and_missing_take_the_same_path(
    node: Node,
    private_id: str,
    statements: list[str],
    route: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real = search._access_row

    def spy(session: Any, public_id: str) -> Any:
        calls.append(public_id)
        return real(session, public_id)

    monkeypatch.setattr(search, "_access_row", spy)
    answers = []
    for public_id in (private_id, MISSING):
        statements.clear()
        response = node.client.get(route.format(id=public_id))
        body = response.json()
        body["detail"] = body["detail"].replace(public_id, "ID")
        body["instance"] = body["instance"].replace(public_id, "ID")
        headers = {k: v for k, v in response.headers.items() if k not in ("content-length",)}
        answers.append((response.status_code, body, headers, list(statements)))
    assert calls == [private_id, MISSING], "both ids go through the one policy lookup"
    (status_a, body_a, headers_a, sql_a), (status_b, body_b, headers_b, sql_b) = answers
    assert status_a == status_b == 404
    assert body_a == body_b
    assert headers_a == headers_b
    assert sql_a == sql_b, "the same statements run for a private and a missing id"


def _median_ms(node: Node, paths: dict[str, str], rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in paths}
    order = list(paths)
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            began = time.perf_counter()
            node.client.get(paths[name])
            times[name].append((time.perf_counter() - began) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


@pytest.mark.parametrize("route", ROUTES)
def test_private_and_missing_take_the_same_time(node: Node, private_id: str, route: str) -> None:
    """Medians over interleaved requests, in process; the bound is the noise between two
    missing ids (measured in the same run) plus 10 % of the median, at least 0.1 ms."""
    paths = {
        "private": route.format(id=private_id),
        "missing": route.format(id=MISSING),
        "missing2": route.format(id=MISSING[::-1]),
    }
    _median_ms(node, paths, 20)  # warm up
    verdicts = []
    for _ in range(3):  # a busy machine may spoil one run; the difference must go every time
        medians = _median_ms(node, paths, 150)
        noise = abs(medians["missing"] - medians["missing2"])
        bound = max(0.1, 0.1 * medians["missing"]) + noise
        difference = abs(medians["private"] - medians["missing"])
        verdicts.append((difference, bound, medians))
        if difference <= bound:
            return
    pytest.fail(f"private vs missing differ beyond noise in every run: {verdicts}")
