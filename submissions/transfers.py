"""Pull transfers: take in the new files a remote HTTP API lists, through the submission
pipeline, under the source's PI with the source's defaults.

The listing protocol (docs/quality.md): `GET <url>/files?after=<cursor>` answers
`{"files": [{"name": ..., "url": ..., "cursor": ...}, ...]}` in order; each file's `url`
(absolute, or relative to the source's URL) gives its bytes. Every request carries
`X-Timestamp` (Unix seconds) and either, for `token` sources (as IAGOS does),
`X-Token: sha256_hex(secret ":" timestamp)`, or, for `hmac` sources (as our peers sign),
`X-Key-Id` and `X-Signature: hmac_sha256_hex(secret, "GET\n" path_and_query "\n" timestamp)`.

The cursor moves past a file once the pipeline has answered for it (archived, the same
bytes again, or refused with a report, as for any receiver); a transfer error (refused
token, connection lost mid-file) stops the pull without moving it, so the next attempt
starts again at that file.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from sqlalchemy.orm import Session, sessionmaker

from catalog.job_models import TransferSource
from catalog.models import User
from catalog.schemas import Principal, Role
from catalog.storage import ArchiveStore
from submissions.acceptance import SubmitOptions
from submissions.pipeline import submit_file

RECEIVER = "transfer"
TIMEOUT_S = 60.0


class TransferError(RuntimeError):
    """The source refused us or the transfer broke off; the cursor did not move."""


def auth_headers(source: TransferSource, url: str, now_s: int | None = None) -> dict[str, str]:
    """The authentication headers of one request to `url`."""
    stamp = str(int(time.time()) if now_s is None else now_s)
    if source.auth == "token":
        token = hashlib.sha256(f"{source.secret}:{stamp}".encode()).hexdigest()
        return {"X-Timestamp": stamp, "X-Token": token}
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    message = f"GET\n{target}\n{stamp}".encode()
    signature = hmac.new(source.secret.encode(), message, hashlib.sha256).hexdigest()
    return {"X-Timestamp": stamp, "X-Key-Id": source.key_id, "X-Signature": signature}


def _get(client: httpx.Client, source: TransferSource, url: str) -> httpx.Response:
    response = client.get(url, headers=auth_headers(source, url))
    if response.status_code != 200:
        raise TransferError(f"{url} answered {response.status_code}: {response.text[:200]}")
    return response


def _listing(client: httpx.Client, source: TransferSource) -> list[dict[str, str]]:
    base = source.url.rstrip("/") + "/"
    url = str(httpx.URL(urljoin(base, "files"), params={"after": source.cursor}))
    files = _get(client, source, url).json().get("files", [])
    return [{k: str(f[k]) for k in ("name", "url", "cursor")} for f in files]


def _download(client: httpx.Client, source: TransferSource, url: str, into: Path) -> None:
    try:
        with client.stream("GET", url, headers=auth_headers(source, url)) as response:
            if response.status_code != 200:
                raise TransferError(f"{url} answered {response.status_code}")
            with into.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
    except httpx.HTTPError as err:
        into.unlink(missing_ok=True)
        raise TransferError(f"{url}: the transfer broke off ({err!r})") from err


def _submitter(session: Session, source: TransferSource) -> Principal:
    user = session.get_one(User, source.owner_user_id)
    return Principal(user_id=user.id, username=user.username, role=Role(user.role))


def pull_source(
    sessions: sessionmaker[Session],
    store: ArchiveStore,
    source_id: int,
    *,
    center_code: str,
    now: datetime,
    client: httpx.Client | None = None,
) -> dict[str, Any]:
    """Take in every file the source lists after its cursor; what happened to each."""
    with sessions() as session:
        source = session.get_one(TransferSource, source_id)
        submitter = _submitter(session, source)
        session.expunge(source)
    options = SubmitOptions(category=source.category, access=source.access)
    taken: list[dict[str, Any]] = []
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT_S, follow_redirects=False)
    try:
        for item in _listing(http, source):
            url = urljoin(source.url.rstrip("/") + "/", item["url"])
            staged = store.new_staging_path()
            _download(http, source, url, staged)
            try:
                result = submit_file(
                    sessions, store, source=staged, original_name=item["name"],
                    submitter=submitter, center_code=center_code, campaign=source.campaign,
                    receiver=RECEIVER, options=options, now=now,
                )  # fmt: skip
            finally:
                staged.unlink(missing_ok=True)
            _advance(sessions, source_id, item["cursor"], now)
            taken.append({"name": item["name"], "state": result.state,
                          "dataset": result.dataset_public_id})  # fmt: skip
    except TransferError as err:
        _record_error(sessions, source_id, str(err), now)
        raise
    finally:
        if own:
            http.close()
    _record_error(sessions, source_id, "", now)
    return {"source": source.name, "files": taken}


def _advance(sessions: sessionmaker[Session], source_id: int, cursor: str, now: datetime) -> None:
    with sessions() as session, session.begin():
        source = session.get_one(TransferSource, source_id)
        source.cursor, source.last_checked = cursor, now


def _record_error(
    sessions: sessionmaker[Session], source_id: int, error: str, now: datetime
) -> None:
    with sessions() as session, session.begin():
        source = session.get_one(TransferSource, source_id)
        source.last_error, source.last_checked = error[:4000], now
