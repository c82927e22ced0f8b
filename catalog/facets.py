"""Facet counts over the filtered set, and which centers' records the catalog holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, literal, select, union_all
from sqlalchemy.orm import Session

from catalog.access import effective_state_sql, visible_filter
from catalog.models import Center, Dataset, PeerState, Variable
from catalog.schemas import CenterFreshness, FacetCount, Principal

FACET_LIMIT = 50
TOTAL = "_total"


def facet_counts(
    session: Session, clauses: list[ColumnElement[bool]], now: datetime
) -> tuple[dict[str, list[FacetCount]], int]:
    """Counts per value of each facet, and the total, over the rows `clauses` select.

    One statement: the filtered rows are computed once (a CTE) and grouped per facet.
    """
    f = (
        select(
            Dataset.id,
            Dataset.platform,
            Dataset.platform_key,
            Dataset.instrument,
            Dataset.instrument_key,
            Dataset.pi_name,
            Dataset.pi_key,
            Dataset.project,
            Dataset.project_key,
            Dataset.origin_center,
            effective_state_sql(now).label("access"),
        )
        .where(*clauses)
        .cte("filtered")
    )

    def grouped(name: str, shown: Any, key: Any) -> Any:
        return select(literal(name), func.min(shown), func.count()).group_by(key)

    parts = [
        select(literal(TOTAL), literal(""), func.count()).select_from(f),
        grouped("platform", f.c.platform, f.c.platform_key),
        grouped("instrument", f.c.instrument, f.c.instrument_key),
        grouped("pi", f.c.pi_name, f.c.pi_key),
        grouped("center", f.c.origin_center, f.c.origin_center),
        grouped("access", f.c.access, f.c.access),
        grouped("project", f.c.project, f.c.project_key).where(f.c.project_key.is_not(None)),
        select(literal("variable"), func.min(Variable.name), func.count(Variable.dataset_id))
        .join_from(f, Variable, Variable.dataset_id == f.c.id)
        .group_by(Variable.name_key),
    ]
    facets: dict[str, list[FacetCount]] = {
        name: []
        for name in ("platform", "instrument", "pi", "variable", "center", "access", "project")
    }
    total = 0
    for name, value, count in session.execute(union_all(*parts)):
        if name == TOTAL:
            total = int(count)
        elif value is not None and value != "":
            facets[name].append(FacetCount(value=str(value), count=int(count)))
    for name, values in facets.items():
        values.sort(key=lambda fc: (-fc.count, fc.value))
        facets[name] = values[:FACET_LIMIT]
    return facets, total


def center_freshness(
    session: Session, principal: Principal, now: datetime
) -> list[CenterFreshness]:
    """Each known center, how many of its records the caller can see here, and sync state."""
    counts = dict(
        session.execute(
            select(Dataset.origin_center, func.count())
            .where(visible_filter(principal, now))
            .group_by(Dataset.origin_center)
        ).all()
    )
    rows = session.execute(
        select(Center, PeerState)
        .outerjoin(PeerState, PeerState.peer_code == Center.code)
        .order_by(Center.is_local.desc(), Center.code)
    ).all()
    return [
        CenterFreshness(
            center=center.code,
            name=center.name,
            is_local=center.is_local,
            records=int(counts.get(center.code, 0)),
            last_seq_applied=peer.last_seq_applied if peer else None,
            last_contact=peer.last_contact if peer else None,
            last_error=peer.last_error if peer else None,
        )
        for center, peer in rows
    ]
