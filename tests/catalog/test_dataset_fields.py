"""The dataset's public fields are declared once (the `info=public(...)` marks on the columns
of `Dataset`); the change-log payload, a mirror's rows, the views and the schemas follow it."""

from __future__ import annotations

import typing
from datetime import timedelta

from sqlalchemy.orm import Session

from catalog.access_states import AccessState
from catalog.changes import dataset_payload
from catalog.dataset_fields import detail_fields, public_fields, shared_fields, summary_fields
from catalog.models import Dataset
from catalog.schemas import DatasetDetail, DatasetSummary
from catalog.views import to_detail, to_summary
from federation.feed import FeedChange
from federation.mirror_rows import dataset_row
from tests.catalog.conftest import NOW
from tests.catalog.factories import make_dataset

NEVER_PUBLIC = {"password_hash", "owner_user_id", "search_text", "listed", "campaign_id", "id"}
DERIVED = {"campaign", "variables", "current_version"}


def _full(db: Session) -> Dataset:
    return make_dataset(
        db, did="DID-7", summary="a long summary", feature_type="trajectory",
        min_altitude=10.0, max_altitude=7000.0, data_version="R1", access_state="embargoed",
        release_at=NOW + timedelta(days=30), withdrawn_at=None, origin_version=3,
    )  # fmt: skip


def test_the_declaration_marks_what_must_stay_private() -> None:
    names = {f.name for f in public_fields()}
    assert names >= {"public_id", "title", "start", "stop", "access_state", "origin_center"}
    assert not names & NEVER_PUBLIC


def test_every_shared_field_travels_in_the_payload(db: Session) -> None:
    payload = dataset_payload(_full(db))
    assert set(payload) == {f.name for f in shared_fields()} | DERIVED
    assert not set(payload) & NEVER_PUBLIC


def test_every_shared_field_lands_in_the_mirror_row(db: Session) -> None:
    dataset = _full(db)
    payload = dataset_payload(dataset)
    change = FeedChange(1, dataset.public_id, "NPL", dataset.origin_version, "upsert", payload)
    row = dataset_row(payload, campaign_id=dataset.campaign_id, change=change)
    for field in shared_fields():
        expected = getattr(dataset, field.name)
        if field.name == "origin_center":
            expected = "NPL"  # the change's envelope names the origin
        assert row[field.name] == expected, field.name
    assert row["password_hash"] is None and row["owner_user_id"] is None


def test_every_viewed_field_is_in_the_schemas_and_the_views(db: Session) -> None:
    dataset = _full(db)
    summary, detail = to_summary(dataset, NOW), to_detail(dataset, None, NOW)
    for field in summary_fields():
        assert field.name in DatasetSummary.model_fields, field.name
        assert getattr(summary, field.name) == getattr(dataset, field.name), field.name
    for field in (*summary_fields(), *detail_fields()):
        assert field.name in DatasetDetail.model_fields, field.name
        assert getattr(detail, field.name) == getattr(dataset, field.name), field.name
    for field in detail_fields():
        assert field.name not in DatasetSummary.model_fields, field.name
    shown = set(DatasetDetail.model_fields)
    assert not shown & NEVER_PUBLIC
    hidden = {f.name for f in public_fields() if f.use.view is None}
    assert hidden == {"south", "north", "west", "east", "access_state"}
    assert detail.bbox == (dataset.west, dataset.south, dataset.east, dataset.north)


def test_schema_types_follow_the_columns() -> None:
    for field in (*summary_fields(), *detail_fields()):
        annotation = DatasetDetail.model_fields[field.name].annotation
        assert annotation == field.annotation, field.name


def test_the_access_route_offers_every_settable_state() -> None:
    # Withdrawal is its own action; every other state can be set through the access route.
    from archive_center.routers.access import AccessUpdate

    offered = set(typing.get_args(AccessUpdate.model_fields["state"].annotation))
    assert offered == {s.value for s in AccessState} - {AccessState.WITHDRAWN.value}
