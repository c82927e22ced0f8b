"""`POST /bundles`: several datasets, subset and converted, in one streamed zip."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from archive_center.routers.datasets import DatasetFormat
from archive_center.routers.query import as_utc
from catalog.bundles import MAX_BUNDLE_DATASETS, build_bundle
from catalog.downloads import DownloadRequest, content_disposition
from catalog.errors import InvalidQueryError
from web.deps import NowDep, PrincipalDep, SessionDep, StoreDep
from web.responses import cache_headers

router = APIRouter(tags=["bundles"])

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


class BundleRequest(BaseModel):
    """Which datasets go in the zip, and the subset and format each is written in."""

    model_config = ConfigDict(extra="forbid")

    datasets: list[Name] = Field(min_length=1, max_length=MAX_BUNDLE_DATASETS)
    format: DatasetFormat = "original"
    start: datetime | None = None
    end: datetime | None = None
    bbox: tuple[float, float, float, float] | None = Field(
        None, description="W,S,E,N in degrees; W > E crosses the antimeridian"
    )
    variables: list[Name] | None = Field(None, min_length=1, max_length=500)

    @field_validator("bbox")
    @classmethod
    def _box(
        cls, box: tuple[float, float, float, float] | None
    ) -> tuple[float, float, float, float] | None:
        if box is None:
            return None
        west, south, east, north = box
        if not (-180 <= west <= 180 and -180 <= east <= 180):
            raise ValueError("longitudes must lie in [-180, 180]")
        if not (-90 <= south <= north <= 90):
            raise ValueError("latitudes must lie in [-90, 90] with south <= north")
        return box

    def download_request(self) -> DownloadRequest:
        """The subset and format as the download service takes them."""
        start, end = as_utc(self.start), as_utc(self.end)
        if start is not None and end is not None and start > end:
            raise InvalidQueryError("start is after end")
        variables = tuple(self.variables) if self.variables else None
        return DownloadRequest(self.format, start, end, self.bbox, variables)


@router.post(
    "/bundles",
    response_class=StreamingResponse,
    responses={
        200: {"description": "A zip of the readable datasets", "content": {"application/zip": {}}},
        400: {"description": "Bad request"},
        404: {"description": "None of the datasets can be bundled"},
        422: {"description": "Invalid body"},
    },
)
def create_bundle(
    body: BundleRequest,
    session: SessionDep,
    store: StoreDep,
    principal: PrincipalDep,
    now: NowDep,
) -> StreamingResponse:
    """Zip the datasets the caller may read, each with a README (header, notes, citation)."""
    bundle = build_bundle(session, store, body.datasets, principal, now, body.download_request())
    headers = cache_headers(bundle.is_public) | {
        "Content-Disposition": content_disposition(bundle.filename),
        "Content-Length": str(bundle.size),
    }
    return StreamingResponse(bundle.chunks, media_type="application/zip", headers=headers)
