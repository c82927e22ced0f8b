"""What `fieldcat download` does: fetch many datasets' data, in parallel, resumably, verified.

Each file is fetched into `.<id>.<format>.part` in the output folder and renamed to the name
the center gives (`Content-Disposition`) once complete, so an interrupted run leaves only
`.part` files; the next run asks for the rest with `Range` (the center serves ranges of
immutable files: originals and stored NetCDF) and starts again when it gets the whole file
instead. The SHA-256 of every file is computed; when the center states it (an original's
`ETag` is its SHA-256) it is checked, and a resumed file that does not match is fetched once
more from the start. A refusal (401, 403, 404...) is recorded with the center's reason.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from web.links import API_LINKS

if TYPE_CHECKING:
    import httpx

CHUNK = 1 << 20
MAX_PARALLEL = 16
_SHA256 = re.compile(r'^"?([0-9a-f]{64})"?$')
_FILENAME = re.compile(r'filename="([^"]+)"')
EXTENSIONS = {"netcdf": "nc", "csv": "csv", "header": "txt", "icartt": "ict", "original": "dat"}
"""File extensions of the `--script` names (the CLI itself uses the center's names)."""


@dataclass(frozen=True)
class DataRequest:
    """The format and subset asked of every dataset (the data route's query)."""

    format: str = "original"
    start: str | None = None
    end: str | None = None
    bbox: str | None = None
    variables: str | None = None

    def query(self) -> dict[str, str]:
        """The data route's query string."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Fetched:
    """One line of the manifest: what happened to one dataset."""

    public_id: str
    status: str
    """`fetched`, `resumed` (completed from an earlier run's part) or `refused`."""
    center: str = ""
    """The center that served the bytes (after a redirect to the origin)."""
    url: str = ""
    file: str = ""
    size: int = 0
    sha256: str = ""
    verified: bool = False
    """Whether the center stated a SHA-256 and the file matched it."""
    reason: str = ""
    """For a refusal: the HTTP status and the center's problem text."""


@dataclass
class Plan:
    """Where to write, how many at once, and who to tell about progress."""

    out: Path
    parallel: int = 4
    on_bytes: Callable[[int], None] = field(default=lambda n: None)
    on_done: Callable[[Fetched], None] = field(default=lambda f: None)


def data_url(center: str, public_id: str) -> str:
    """The data route of `public_id` at `center`."""
    return center.rstrip("/") + API_LINKS.dataset(public_id, "data")


def _reason(response: httpx.Response) -> str:
    from archive_center.cli_search import problem_message

    response.read()
    return f"{response.status_code}: {problem_message(response)}"


def _stated_sha256(response: httpx.Response) -> str | None:
    match = _SHA256.match(response.headers.get("etag", ""))
    return match.group(1) if match else None


def _filename(response: httpx.Response, public_id: str, fmt: str) -> str:
    match = _FILENAME.search(response.headers.get("content-disposition", ""))
    name = match.group(1) if match else f"{public_id}.{EXTENSIONS.get(fmt, 'dat')}"
    return Path(name).name or f"{public_id}.dat"


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _center_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def fetch_one(
    client: httpx.Client, center: str, public_id: str, request: DataRequest, plan: Plan
) -> Fetched:
    """Fetch one dataset's data into `plan.out` (resuming a `.part` left by an earlier run)."""
    part = plan.out / f".{public_id}.{request.format}.part"
    url = data_url(center, public_id)
    for attempt in range(2):
        offset = part.stat().st_size if part.exists() and attempt == 0 else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        with client.stream("GET", url, params=request.query(), headers=headers) as response:
            if response.status_code == 416:  # nothing left to fetch: the part is whole
                part.unlink()
                continue
            if response.status_code not in (200, 206):
                return Fetched(public_id, "refused", _center_of(str(response.url)), url,
                               reason=_reason(response))  # fmt: skip
            resumed = response.status_code == 206
            with part.open("ab" if resumed else "wb") as handle:
                for chunk in response.iter_bytes(CHUNK):
                    handle.write(chunk)
                    plan.on_bytes(len(chunk))
            stated = _stated_sha256(response)
            name = _filename(response, public_id, request.format)
            served_by = _center_of(str(response.url))
        sha256 = _hash_file(part)
        if stated is not None and stated != sha256:
            part.unlink()  # a stale or damaged part: once more, whole
            continue
        final = plan.out / name
        part.replace(final)
        return Fetched(
            public_id, "resumed" if resumed else "fetched", served_by, str(response.url),
            final.name, final.stat().st_size, sha256, stated is not None,
        )  # fmt: skip
    return Fetched(public_id, "refused", center, url, reason="the file did not match its SHA-256")


def fetch_all(
    center: str, ids: list[str], request: DataRequest, plan: Plan, headers: dict[str, str]
) -> list[Fetched]:
    """Fetch every id, at most `plan.parallel` at once; the manifest lines in `ids` order."""
    import httpx

    plan.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Fetched] = {}
    lock = threading.Lock()
    limits = httpx.Limits(max_connections=plan.parallel, max_keepalive_connections=plan.parallel)
    timeout = httpx.Timeout(60.0, connect=10.0)
    with httpx.Client(
        headers=headers, timeout=timeout, limits=limits, follow_redirects=True
    ) as client:

        def one(public_id: str) -> None:
            try:
                done = fetch_one(client, center, public_id, request, plan)
            except httpx.HTTPError as err:
                why = f"transfer failed: {err.__class__.__name__}: {err}"
                url = data_url(center, public_id)
                done = Fetched(public_id, "refused", center, url, reason=why)
            with lock:
                results[public_id] = done
            plan.on_done(done)

        with ThreadPoolExecutor(max_workers=min(plan.parallel, MAX_PARALLEL)) as pool:
            list(pool.map(one, ids))
    return [results[i] for i in ids]


def write_manifest(path: Path, fetched: list[Fetched]) -> None:
    """The manifest as JSON, or as CSV when `path` ends in `.csv`."""
    import csv
    import json

    rows: list[dict[str, Any]] = [asdict(f) for f in fetched]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(asdict(Fetched("", "")).keys()))
            writer.writeheader()
            writer.writerows(rows)
        return
    path.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


def curl_script(center: str, ids: list[str], request: DataRequest) -> str:
    """A POSIX shell script fetching the same files with curl: resumable (`-C -`),
    credentials from `~/.netrc` (HTTP Basic, API token as the password), never in the URL."""
    from urllib.parse import urlencode

    query = urlencode(request.query())
    ext = EXTENSIONS.get(request.format, "dat")
    lines = [
        "#!/bin/sh",
        f"# fieldcat download: {len(ids)} dataset(s) from {center}",
        "# Credentials, if any: ~/.netrc with 'machine HOST login USER password API_TOKEN'.",
        "set -u",
        "failed=0",
    ]
    for public_id in ids:
        url = f"{data_url(center, public_id)}?{query}"
        lines.append(
            f"curl -fL --netrc-optional -C - --retry 3 -o '{public_id}.{ext}' '{url}' "
            f"|| {{ echo 'refused or failed: {public_id}' >&2; failed=1; }}"
        )
    lines.append('exit "$failed"')
    return "\n".join(lines) + "\n"
