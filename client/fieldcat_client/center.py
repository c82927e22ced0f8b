"""A FieldCat center seen from Python: search, subset, download, order, submit."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

API = "/api/v1"
OPENDAP = "/opendap"
CHUNK = 1 << 20
PAGE = 1000
BUNDLE_MAX = 100
"""Datasets a center puts in one zip (`POST /api/v1/bundles`)."""
_SHA256 = re.compile(r'^"?([0-9a-f]{64})"?$')
_FILENAME = re.compile(r'filename="([^"]+)"')

When = str | datetime | None
Box = tuple[float, float, float, float] | None


class FieldCatError(Exception):
    """A center refused a request; `status` and the center's problem text say why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


def _problem(response: httpx.Response) -> FieldCatError:
    response.read()
    try:
        body = response.json()
        detail = str(body.get("detail") or body.get("title") or response.text)
    except ValueError:
        detail = response.text[:500]
    return FieldCatError(response.status_code, detail)


def _iso(value: When) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def subset_query(
    start: When = None, end: When = None, bbox: Box = None, variables: Iterable[str] | None = None
) -> dict[str, str]:
    """The data route's subset parameters, only those given."""
    query = {"start": _iso(start), "end": _iso(end)}
    if bbox is not None:
        query["bbox"] = ",".join(str(v) for v in bbox)
    if variables is not None:
        query["variables"] = ",".join(variables)
    return {k: v for k, v in query.items() if v is not None}


@dataclass(frozen=True)
class Dataset:
    """One search result: its metadata as the center lists it, and ways to get its data."""

    center: Center = field(repr=False)
    record: dict[str, Any]

    @property
    def id(self) -> str:
        """The dataset's public id (the same at every center)."""
        return str(self.record["public_id"])

    @property
    def opendap_url(self) -> str:
        """The URL a DAP client (netCDF4, xarray, pydap, ncdump) opens."""
        return f"{self.center.url}{OPENDAP}/{self.id}"

    def to_xarray(
        self, *, start: When = None, end: When = None, bbox: Box = None,
        variables: Iterable[str] | None = None, lazy: bool = False,
    ) -> xr.Dataset:  # fmt: skip
        """The data as an xarray Dataset, subset on the server (NetCDF download, opened
        from memory). `lazy=True` opens the OPeNDAP URL instead (no subset arguments; slice
        the result, and only the slices read are fetched)."""
        import xarray as xr

        if lazy:
            return xr.open_dataset(self.opendap_url, engine="netcdf4")
        import tempfile

        query = {"format": "netcdf"} | subset_query(start, end, bbox, variables)
        content = self.center.get_bytes(f"{API}/datasets/{self.id}/data", query)
        with tempfile.TemporaryDirectory(prefix="fieldcat-") as tmp:
            path = Path(tmp) / f"{self.id}.nc"
            path.write_bytes(content)
            with xr.open_dataset(path, engine="netcdf4") as opened:
                return opened.load()

    def to_pandas(
        self, *, start: When = None, end: When = None, bbox: Box = None,
        variables: Iterable[str] | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """The data as a pandas DataFrame (the CSV download, subset on the server)."""
        import io

        import pandas as pd

        query = {"format": "csv"} | subset_query(start, end, bbox, variables)
        content = self.center.get_bytes(f"{API}/datasets/{self.id}/data", query)
        return pd.read_csv(io.BytesIO(content), comment="#")

    def download(
        self, folder: str | Path = ".", *, format: str = "original", **subset: Any
    ) -> Path:
        """Save the data in `folder` (see `Center.download`)."""
        return self.center.download(self.id, folder, format=format, **subset)


class Center:
    """A FieldCat center at `url`, optionally as the user owning API `token`."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, follow_redirects=True
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def __enter__(self) -> Center:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_bytes(self, path: str, query: dict[str, str]) -> bytes:
        """GET `path` and return the body (FieldCatError when refused)."""
        response = self.http.get(path, params=query)
        if response.status_code >= 400:
            raise _problem(response)
        return response.content

    def search(self, *, page_size: int = PAGE, **filters: Any) -> Iterator[Dataset]:
        """Every dataset the search matches, across pages (the center's cursor), each once.

        Filters are the search API's: `q`, `start`, `end`, `bbox` (a 4-tuple), `platform`,
        `instrument`, `pi`, `variable`, `project`, `center` (origin code), `access`, `sort`.
        The center's catalog holds its peers' records too (the federated catalog)."""
        query = {k: _iso(v) for k, v in filters.items() if v is not None}
        if isinstance(filters.get("bbox"), tuple):
            query["bbox"] = ",".join(str(v) for v in filters["bbox"])
        query |= {"limit": str(page_size), "facets": "false"}
        seen: set[str] = set()
        while True:
            response = self.http.get(f"{API}/datasets", params=query)
            if response.status_code >= 400:
                raise _problem(response)
            page = response.json()
            for record in page["items"]:
                if record["public_id"] not in seen:
                    seen.add(record["public_id"])
                    yield Dataset(self, record)
            if not page.get("next_cursor"):
                return
            query["cursor"] = page["next_cursor"]

    def dataset(self, public_id: str) -> Dataset:
        """One dataset by id."""
        response = self.http.get(f"{API}/datasets/{public_id}")
        if response.status_code >= 400:
            raise _problem(response)
        return Dataset(self, response.json())

    def download(
        self, public_id: str, folder: str | Path = ".", *, format: str = "original",
        start: When = None, end: When = None, bbox: Box = None,
        variables: Iterable[str] | None = None,
    ) -> Path:  # fmt: skip
        """Save one dataset's data in `folder` under the center's file name.

        Resumable: the bytes go to `.ID.FORMAT.part` first; a part left by an interrupted
        call is completed with `Range`. When the center states the SHA-256 (an original's
        ETag), the file is checked and a mismatching part fetched again whole."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / f".{public_id}.{format}.part"
        query = {"format": format} | subset_query(start, end, bbox, variables)
        for attempt in range(2):
            offset = part.stat().st_size if part.exists() and attempt == 0 else 0
            headers = {"Range": f"bytes={offset}-"} if offset else {}
            path = f"{API}/datasets/{public_id}/data"
            with self.http.stream("GET", path, params=query, headers=headers) as response:
                if response.status_code == 416:
                    part.unlink()
                    continue
                if response.status_code not in (200, 206):
                    raise _problem(response)
                with part.open("ab" if response.status_code == 206 else "wb") as handle:
                    for chunk in response.iter_bytes(CHUNK):
                        handle.write(chunk)
                stated = _SHA256.match(response.headers.get("etag", ""))
                named = _FILENAME.search(response.headers.get("content-disposition", ""))
            if stated is not None and stated.group(1) != sha256_of(part):
                part.unlink()
                continue
            target = folder / Path(named.group(1) if named else f"{public_id}.dat").name
            part.replace(target)
            return target
        raise FieldCatError(0, f"{public_id}: the file did not match its SHA-256")

    def order(
        self, ids: Iterable[str], target: str | Path, *, format: str = "netcdf",
        start: When = None, end: When = None, bbox: Box = None,
        variables: Iterable[str] | None = None, per_zip: int = BUNDLE_MAX,
    ) -> list[Path]:  # fmt: skip
        """A large selection as zips (the bundle route): each readable dataset subset and
        converted, with a README each and a manifest. A center puts at most `BUNDLE_MAX`
        datasets in one zip, so a larger selection comes as `NAME-1.zip`, `NAME-2.zip`...
        beside `target`; a selection that fits is `target` itself."""
        chosen = list(ids)
        body: dict[str, Any] = {"format": format}
        body |= {k: v for k, v in (("start", _iso(start)), ("end", _iso(end))) if v}
        if bbox is not None:
            body["bbox"] = list(bbox)
        if variables is not None:
            body["variables"] = list(variables)
        target = Path(target)
        batches = [chosen[i : i + per_zip] for i in range(0, len(chosen), per_zip)]
        paths = []
        for number, batch in enumerate(batches, start=1):
            path = target if len(batches) == 1 else target.with_stem(f"{target.stem}-{number}")
            self._bundle(body | {"datasets": batch}, path)
            paths.append(path)
        return paths

    def _bundle(self, body: dict[str, Any], path: Path) -> None:
        with self.http.stream("POST", f"{API}/bundles", json=body) as response:
            if response.status_code >= 400:
                raise _problem(response)
            with path.open("wb") as handle:
                for chunk in response.iter_bytes(CHUNK):
                    handle.write(chunk)

    def submit(self, path: str | Path, **fields: str) -> dict[str, Any]:
        """Upload one data file (a PI's or staff's token); the center's report as a dict.
        `fields`: `campaign`, `category`, `access`, `release_at`. A rejected file raises
        FieldCatError with the report's text."""
        path = Path(path)
        with path.open("rb") as handle:
            response = self.http.post(
                f"{API}/submissions", files={"file": (path.name, handle)}, data=fields
            )
        if response.status_code >= 400:
            raise _problem(response)
        result: dict[str, Any] = response.json()
        return result


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def search_all(centers: Iterable[Center], **filters: Any) -> Iterator[Dataset]:
    """Search several centers (each already holding its peers' records) and yield every
    dataset once: a record mirrored at two centers comes from the first that lists it."""
    seen: set[str] = set()
    for center in centers:
        for dataset in center.search(**filters):
            if dataset.id not in seen:
                seen.add(dataset.id)
                yield dataset
