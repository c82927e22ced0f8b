"""Static assets shipped in the package, served from a fixed list (no directory mount).

The list is made once, on the first request for an asset, so a request path can only ever
name one of the files that ship with the package: no traversal, nothing from the archive.
"""

from __future__ import annotations

import functools
import mimetypes
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_HEADERS = {"Cache-Control": "public, max-age=3600"}
MEDIA_TYPES = {".geojson": "application/geo+json", ".js": "text/javascript", ".css": "text/css"}


@functools.cache
def static_files(root: Path = STATIC_DIR) -> dict[str, Path]:
    """Every shipped asset by its URL path below `/static/`."""
    return {
        path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


def serve_static(files: dict[str, Path], name: str) -> Response:
    """The named asset (an unknown name is the error path's 404)."""
    path = files.get(name)
    if path is None:
        raise HTTPException(404)
    media = MEDIA_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "text/plain"
    return FileResponse(path, media_type=media, headers=STATIC_HEADERS)
