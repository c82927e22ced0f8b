"""HTTP answers for prepared downloads, shared by the API and the pages.

The access check has already run in `catalog.downloads.prepare_download`; only then are
validators (ETag, Last-Modified) and byte ranges served (SECURITY.md rows 11 and 13).
"""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import FileResponse, StreamingResponse

from catalog.downloads import CHUNK_SIZE, Download
from catalog.handover_files import TRANSFER_CHUNK


class ArchiveFileResponse(FileResponse):
    """Starlette's file response (single and multiple byte ranges, `If-Range`, HEAD), reading
    in the archive's chunk size rather than 64 KiB."""

    chunk_size = CHUNK_SIZE


class TransferFileResponse(ArchiveFileResponse):
    """A file sent whole to a peer taking it over, read in `TRANSFER_CHUNK`s."""

    chunk_size = TRANSFER_CHUNK


OPEN_MAX_AGE_S = 5
"""How long a shared cache may serve open data without asking again: the bound within which
a re-embargo or withdrawal reaches every cache (docs/access-caching.md)."""
OPEN_CACHE_CONTROL = f"public, max-age={OPEN_MAX_AGE_S}, must-revalidate"


def cache_headers(is_public: bool) -> dict[str, str]:
    """Cache headers: open data for `OPEN_MAX_AGE_S` then revalidated; the rest never stored.

    `must-revalidate` forbids serving a stale copy; a revalidation (`If-None-Match`) runs the
    access check again before any 304.
    """
    if is_public:
        return {"Cache-Control": OPEN_CACHE_CONTROL}
    return {"Cache-Control": "no-store", "Vary": "Cookie, Authorization"}


def download_headers(download: Download) -> dict[str, str]:
    """The headers every answer with a download's bytes carries (the API's and the pages').

    Cacheable only when public; otherwise `no-store` and `Vary` on the credentials. No
    `Content-Length`: the response sets it (a byte range has its own).
    """
    headers = {"Content-Disposition": download.content_disposition}
    headers |= cache_headers(download.is_public)
    if download.etag is not None:
        headers["ETag"] = download.etag
    return headers


def download_response(download: Download, request: Request) -> Response:
    """The answer for a prepared download.

    - 304 when the client's `If-None-Match` names the original's ETag;
    - an immutable file (an original, a stored NetCDF): `Accept-Ranges: bytes`, so an
      interrupted transfer of a large file resumes with `Range` (206; 416 when unsatisfiable);
    - a per-request conversion or subset: streamed, as a whole.
    """
    headers = download_headers(download)
    # Only file-backed downloads have an ETag or a path; their `chunks` is an unstarted
    # generator that holds nothing open, so it is simply left unused here.
    if download.etag is not None and request.headers.get("if-none-match") == download.etag:
        return Response(status_code=304, headers=headers)
    if download.path is not None:
        return ArchiveFileResponse(download.path, headers=headers, media_type=download.media_type)
    if download.size is not None:
        headers["Content-Length"] = str(download.size)
    return StreamingResponse(download.chunks, media_type=download.media_type, headers=headers)
