"""Redacted views of a dataset: the schemas built from rows (never password or owner)."""

from __future__ import annotations

from datetime import datetime

from catalog.access import effective_state
from catalog.dataset_fields import detail_fields
from catalog.dataset_fields import summary_fields as summary_columns
from catalog.links import ResourceLinks
from catalog.models import Center, Dataset
from catalog.schemas import DatasetDetail, DatasetSummary, VariableOut, VersionOut


def _bbox(dataset: Dataset) -> tuple[float, float, float, float] | None:
    edges = (dataset.west, dataset.south, dataset.east, dataset.north)
    if any(edge is None for edge in edges):
        return None
    west, south, east, north = edges
    assert west is not None and south is not None and east is not None and north is not None
    return (west, south, east, north)


def summary_fields(dataset: Dataset, now: datetime) -> dict[str, object]:
    """The public fields shared by the summary and the detail view.

    The stored ones are `dataset_fields.summary_fields`; the campaign's code, the box, the
    effective access state and the variable names are derived here.
    """
    fields: dict[str, object] = {f.name: getattr(dataset, f.name) for f in summary_columns()}
    fields.update(
        campaign=dataset.campaign.code,
        bbox=_bbox(dataset),
        access_state=effective_state(dataset, now).value,
        variables=[v.name for v in dataset.variables],
    )
    return fields


def to_summary(dataset: Dataset, now: datetime) -> DatasetSummary:
    """A search result entry."""
    return DatasetSummary.model_validate(summary_fields(dataset, now))


def dataset_links(dataset: Dataset, origin: Center | None, links: ResourceLinks) -> dict[str, str]:
    """API links of a dataset; a mirrored record links to its origin center too."""
    own, data = links.dataset(dataset.public_id), links.dataset(dataset.public_id, "data")
    found = {"self": own, "data": data, "plot": links.dataset(dataset.public_id, "plot")}
    if origin is not None and not origin.is_local:
        base = origin.base_url.rstrip("/")
        found["origin"] = f"{base}{own}"
        found["origin_data"] = f"{base}{data}"
    return found


def to_detail(
    dataset: Dataset, origin: Center | None, now: datetime, links: ResourceLinks | None = None
) -> DatasetDetail:
    """The full public view of one dataset; without `links`, its `links` stay empty."""
    variables = [
        VariableOut(
            name=v.name,
            original_name=v.original_name,
            unit=v.unit,
            original_unit=v.original_unit,
            long_name=v.long_name,
        )
        for v in dataset.variables
    ]
    versions = [
        VersionOut(
            id=v.id,
            data_version=v.data_version,
            sha256=v.sha256,
            size=v.size,
            original_name=v.original_name,
            source_format=v.source_format,
            created_at=v.created_at,
            is_current=v.is_current,
        )
        for v in dataset.versions
    ]
    return DatasetDetail.model_validate(
        {
            **summary_fields(dataset, now),
            **{f.name: getattr(dataset, f.name) for f in detail_fields()},
            "is_mirror": origin is not None and not origin.is_local,
            "variable_details": variables,
            "versions": versions,
            "links": {} if links is None else dataset_links(dataset, origin, links),
        }
    )
