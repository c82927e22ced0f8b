"""The parts of a dataset's page beside its record: the registry's names of its deployment,
its navigation merge (CIDS) and the merged products it is an input of or was built as.

Most datasets have none of the three, so one statement, built once, says which of them a
dataset has, and only those are loaded: three lookups built anew for every page view cost
more than the rest of the page's queries together (`bench/ui.py`, `dataset_page_vs_api`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from catalog.cids_models import MergeDefinition, NavigationMerge
from catalog.merges import INVOLVING, MergeView, involving_params, merges_involving
from catalog.models import Dataset
from catalog.navigation import NavigationView, navigation_view_of
from catalog.registry import registry_names
from catalog.registry_models import DatasetDeployment
from catalog.schemas import Principal

_WHICH = select(
    exists().where(DatasetDeployment.dataset_id == bindparam("dataset_id")),
    exists().where(NavigationMerge.dataset_id == bindparam("dataset_id")),
    exists().where(INVOLVING).select_from(MergeDefinition),
)


@dataclass(frozen=True)
class DatasetSections:
    """What the page shows of each part (None or empty: the dataset has none)."""

    registry: dict[str, Any] | None = None
    navigation_merge: NavigationView | None = None
    merged_products: list[MergeView] = field(default_factory=list)


def dataset_sections(
    session: Session, dataset: Dataset, principal: Principal, now: datetime
) -> DatasetSections:
    """The parts `dataset` has, as the caller may see them."""
    linked, navigated, merged = session.execute(_WHICH, involving_params(dataset)).one()
    return DatasetSections(
        registry_names(session, dataset) if linked else None,
        navigation_view_of(session, dataset, principal, now) if navigated else None,
        merges_involving(session, dataset, principal, now) if merged else [],
    )
