"""What the dataset page derives from the public view: schema.org JSON-LD (the citation is
`catalog.citations`, shared with the bundles and the exports).

It takes only a `DatasetDetail` (the redacted view the API returns), so it cannot carry
what the access policy keeps back; the download link is listed only when the data are open.
"""

from __future__ import annotations

from typing import Any

from catalog.schemas import DatasetDetail


def dataset_url(base_url: str, public_id: str) -> str:
    """The dataset page's absolute URL."""
    return f"{base_url.rstrip('/')}/datasets/{public_id}"


def _spatial(detail: DatasetDetail) -> dict[str, Any] | None:
    if detail.bbox is None:
        return None
    west, south, east, north = detail.bbox
    if west == east and south == north:
        geo: dict[str, Any] = {"@type": "GeoCoordinates", "latitude": south, "longitude": west}
    else:
        geo = {"@type": "GeoShape", "box": f"{south} {west} {north} {east}"}
    return {"@type": "Place", "name": detail.location or None, "geo": geo}


def dataset_jsonld(
    detail: DatasetDetail, *, center_name: str, provider: str, base_url: str, data_open: bool
) -> dict[str, Any]:
    """A schema.org `Dataset` for search engines, from public metadata only: listed in this
    center's catalog (`center_name`), provided by the center that archives it (`provider`,
    the origin center of a mirrored record)."""
    url = dataset_url(base_url, detail.public_id)
    doc: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": url,
        "url": url,
        "identifier": detail.public_id,
        "name": detail.title,
        "description": detail.summary or detail.title,
        "creator": {"@type": "Person", "name": detail.pi_name},
        "version": detail.data_version or None,
        "keywords": [detail.campaign, detail.platform, detail.instrument],
        "temporalCoverage": f"{detail.start.isoformat()}/{detail.stop.isoformat()}",
        "spatialCoverage": _spatial(detail),
        "variableMeasured": [
            {"@type": "PropertyValue", "name": v.name, "unitText": v.unit or v.original_unit}
            for v in detail.variable_details
        ],
        "dateModified": detail.updated.isoformat(),
        "isAccessibleForFree": True,
        "includedInDataCatalog": {"@type": "DataCatalog", "name": f"FieldCat {center_name}"},
        "provider": {"@type": "Organization", "name": provider},
    }
    if detail.release_at is not None and not data_open:
        doc["conditionsOfAccess"] = (
            f"Data {detail.access_state} until {detail.release_at.isoformat()}"
        )
    if data_open:
        data = f"{base_url.rstrip('/')}/api/v1/datasets/{detail.public_id}/data"
        doc["distribution"] = [
            {"@type": "DataDownload", "encodingFormat": "application/x-netcdf",
             "contentUrl": f"{data}?format=netcdf"},
            {"@type": "DataDownload", "encodingFormat": "text/csv",
             "contentUrl": f"{data}?format=csv"},
        ]  # fmt: skip
    return {k: v for k, v in doc.items() if v is not None}
