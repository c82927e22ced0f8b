"""Opaque keyset cursors: the last row's sort key, bound to the query that produced it.

A cursor is signed (HMAC-SHA256) with a key of the center, so a client cannot make one up
or alter one (SECURITY.md row 25; the access filter applies regardless). The key lives in
`<root>/keys/cursor.key`, made once by `fieldcat init` (or the first start) and kept, so
cursors outlive a restart and are valid on every process serving the same root. The app
hands it to its sessions (`session.info[SESSION_KEY]`); a session without one (a script, a
test) signs with a key made for this process only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog.errors import InvalidQueryError
from catalog.schemas import SearchParams

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CURSOR_VERSION = 2
KEY_FILE = Path("keys") / "cursor.key"
SESSION_KEY = "fieldcat_cursor_key"
_PROCESS_KEY = secrets.token_bytes(32)
# Fields that do not change which rows a query selects or their order.
_NOT_IN_FINGERPRINT = {"cursor", "limit", "facets"}


def query_fingerprint(params: SearchParams) -> str:
    """A short digest of the filters and sort, so a cursor only continues its own query."""
    fields = params.model_dump(mode="json", exclude=_NOT_IN_FINGERPRINT)
    blob = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def load_or_create_key(root: Path) -> bytes:
    """The center's cursor key under `root`, made (32 random bytes, mode 0600) if missing."""
    path = root / KEY_FILE
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return path.read_bytes()
        with os.fdopen(fd, "wb") as handle:
            handle.write(fresh)
            handle.flush()
            os.fsync(handle.fileno())
        return fresh
    if len(key) < 16:
        raise ValueError(f"cursor key {path} is too short")
    return key


def session_key(session: Session) -> bytes:
    """The key cursors of this session are signed with (the process's own if none is set)."""
    key = session.info.get(SESSION_KEY)
    return key if isinstance(key, bytes) else _PROCESS_KEY


def _signature(body: dict[str, Any], secret: bytes) -> str:
    blob = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(secret, b"fieldcat-cursor:" + blob, hashlib.sha256).hexdigest()[:32]


def encode_cursor(
    params: SearchParams, key: str | datetime, public_id: str, *, secret: bytes
) -> str:
    """The signed cursor that continues `params` after the row with this sort key and id."""
    value = key.isoformat() if isinstance(key, datetime) else key
    body = {"v": CURSOR_VERSION, "s": params.sort, "f": query_fingerprint(params), "k": value}
    body["p"] = public_id
    body["c"] = _signature(body, secret)
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(
    params: SearchParams, *, key_is_time: bool, secret: bytes
) -> tuple[str | datetime, str]:
    """The (sort key, public id) a cursor carries; InvalidQueryError unless we signed it."""
    assert params.cursor is not None
    try:
        raw = base64.urlsafe_b64decode(params.cursor + "=" * (-len(params.cursor) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError) as err:
        raise InvalidQueryError("cursor is malformed; start again without it") from err
    if not isinstance(body, dict) or body.get("v") != CURSOR_VERSION:
        raise InvalidQueryError("cursor is malformed; start again without it")
    given = body.pop("c", None)
    if not isinstance(given, str) or not hmac.compare_digest(given, _signature(body, secret)):
        raise InvalidQueryError(
            "cursor is not one this center issued (damaged, altered or from another center); "
            "start again without it"
        )
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
