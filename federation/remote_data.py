"""Open data of a dataset held at another center, read through its public data route.

Only what an anonymous caller may read at the origin comes back (the origin decides): the
overlay page uses it for mirrored datasets, the worker for a navigation held at a peer
(docs/cids.md).
"""

from __future__ import annotations

import httpx

MAX_BYTES = 256 * 1024 * 1024


def fetch_csv(data_url: str, timeout_s: float = 30.0) -> bytes:
    """The CSV at `data_url` (a dataset's data route at its origin), see `fetch_data`."""
    return fetch_data(data_url, "csv", timeout_s)


def fetch_data(data_url: str, fmt: str, timeout_s: float = 30.0) -> bytes:
    """The data at `data_url` in `fmt` (`original`, `csv`...); PermissionError when the
    origin refuses, OSError when it cannot be reached or answers too much."""
    try:
        with httpx.stream("GET", data_url, params={"format": fmt}, timeout=timeout_s) as answer:
            if answer.status_code in (401, 403, 404):
                raise PermissionError(f"the origin answered {answer.status_code}")
            answer.raise_for_status()
            chunks, size = [], 0
            for chunk in answer.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise OSError("the origin's file is too large to overlay")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as err:
        raise OSError(f"the origin could not be read: {err}") from err
