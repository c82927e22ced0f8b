"""Opaque keyset cursors: the last row's sort key, bound to the query that produced it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from typing import Any

from catalog.errors import InvalidQueryError
from catalog.schemas import SearchParams

CURSOR_VERSION = 1
# Fields that do not change which rows a query selects or their order.
_NOT_IN_FINGERPRINT = {"cursor", "limit", "facets"}


def query_fingerprint(params: SearchParams) -> str:
    """A short digest of the filters and sort, so a cursor only continues its own query."""
    fields = params.model_dump(mode="json", exclude=_NOT_IN_FINGERPRINT)
    blob = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _checksum(body: dict[str, Any]) -> str:
    blob = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(b"fieldcat-cursor:" + blob).hexdigest()[:12]


def encode_cursor(params: SearchParams, key: str | datetime, public_id: str) -> str:
    """The cursor that continues `params` after the row with this sort key and public id."""
    value = key.isoformat() if isinstance(key, datetime) else key
    body = {"v": CURSOR_VERSION, "s": params.sort, "f": query_fingerprint(params), "k": value}
    body["p"] = public_id
    body["c"] = _checksum(body)
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(params: SearchParams, *, key_is_time: bool) -> tuple[str | datetime, str]:
    """The (sort key, public id) a cursor carries; InvalidQueryError when it is not ours."""
    assert params.cursor is not None
    try:
        raw = base64.urlsafe_b64decode(params.cursor + "=" * (-len(params.cursor) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError) as err:
        raise InvalidQueryError("cursor is malformed; start again without it") from err
    if not isinstance(body, dict) or body.get("v") != CURSOR_VERSION:
        raise InvalidQueryError("cursor is malformed; start again without it")
    given = body.pop("c", None)
    if given != _checksum(body):
        raise InvalidQueryError("cursor is damaged; start again without it")
    if body.get("s") != params.sort or body.get("f") != query_fingerprint(params):
        raise InvalidQueryError("cursor belongs to another query or sort; start again without it")
    key, public_id = body.get("k"), body.get("p")
    if not isinstance(key, str) or not isinstance(public_id, str):
        raise InvalidQueryError("cursor is malformed; start again without it")
    if not key_is_time:
        return key, public_id
    try:
        return datetime.fromisoformat(key), public_id
    except ValueError as err:
        raise InvalidQueryError("cursor is malformed; start again without it") from err
