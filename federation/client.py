"""`PeerClient`: signed requests to one peer over an injected `httpx.AsyncClient`.

Transport failures raise `PeerUnreachableError`; answers that break the protocol raise
`PeerProtocolError`, and so do answers not signed by the peer for the request they answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from federation.errors import PeerProtocolError, PeerUnreachableError, SignatureError
from federation.feed import FeedPage, parse_feed_page
from federation.signing import H_NONCE, sign_headers, verify_answer


@dataclass(frozen=True)
class PeerCredentials:
    """Who we are to the peer and the key we sign with."""

    local_code: str
    peer_code: str
    base_url: str
    key_id: str
    secret: str
    api_path: str
    """Where under `base_url` the peer serves the federation protocol (the composition root
    passes the path its own route table mounts, `web.links.FEDERATION_API`)."""


def _now() -> datetime:
    return datetime.now(UTC)


class PeerClient:
    """Talks to one peer: pull its changes, notify it, fetch its record digests."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: PeerCredentials,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.http, self.credentials, self.clock = http, credentials, clock

    def signed_request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: bytes = b""
    ) -> httpx.Request:
        """A request to the peer carrying the signature headers."""
        creds = self.credentials
        headers = {"content-type": "application/json"} if body else {}
        request = self.http.build_request(
            method, creds.base_url + path, params=params, content=body, headers=headers
        )
        request.headers.update(
            sign_headers(
                sender=creds.local_code,
                audience=creds.peer_code,
                key_id=creds.key_id,
                secret=creds.secret,
                method=method,
                path=request.url.path,
                query=request.url.query.decode(),
                body=body,
                now=self.clock(),
            )
        )
        return request

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self.http.send(request)
        except httpx.TransportError as err:
            raise PeerUnreachableError(
                f"{self.credentials.peer_code} unreachable: {type(err).__name__}"
            ) from err
        if response.status_code >= 300:
            detail = response.text[:300]
            raise PeerProtocolError(
                f"{self.credentials.peer_code} answered {response.status_code}: {detail}"
            )
        self._check_answer(request, response)
        return response

    def _check_answer(self, request: httpx.Request, response: httpx.Response) -> None:
        """Refuse an answer the peer did not sign for this very request."""
        creds = self.credentials
        try:
            verify_answer(
                peer=creds.peer_code, local=creds.local_code, key_id=creds.key_id,
                secret=creds.secret, nonce=request.headers[H_NONCE], path=request.url.path,
                query=request.url.query.decode(), headers=response.headers,
                body=response.content, now=self.clock(),
            )  # fmt: skip
        except SignatureError as err:
            raise PeerProtocolError(
                f"{creds.peer_code}'s answer is not signed with our key, so it was not used: {err}"
            ) from err

    async def _json(self, request: httpx.Request) -> Any:
        response = await self._send(request)
        try:
            return response.json()
        except ValueError as err:
            raise PeerProtocolError(f"{self.credentials.peer_code} sent no JSON") from err

    async def changes(self, since: int, limit: int) -> FeedPage:
        """The peer's changes after `since`, checked for shape and gaps."""
        request = self.signed_request(
            "GET", f"{self.credentials.api_path}/changes", params={"since": since, "limit": limit}
        )
        page = parse_feed_page(await self._json(request), since)
        if page.center != self.credentials.peer_code:
            expected = self.credentials.peer_code
            raise PeerProtocolError(f"expected center {expected}, got {page.center}")
        return page

    async def notify(self, last_seq: int) -> None:
        """Tell the peer our log reached `last_seq`, so it pulls at once."""
        body = json.dumps({"last_seq": last_seq}).encode()
        await self._send(
            self.signed_request("POST", f"{self.credentials.api_path}/notify", body=body)
        )

    async def digests(self) -> dict[str, dict[str, Any]]:
        """The peer's shared records: public id -> origin, version and content hash."""
        data = await self._json(self.signed_request("GET", f"{self.credentials.api_path}/digests"))
        if not isinstance(data, dict) or not isinstance(data.get("records"), dict):
            raise PeerProtocolError("digests must be an object with a records map")
        records: dict[str, dict[str, Any]] = data["records"]
        return records

    async def handover_offer(self) -> dict[str, Any]:
        """Offer the peer every record we originated; its signed acceptance."""
        path = f"{self.credentials.api_path}/handover/offer"
        answer = await self._json(self.signed_request("POST", path, body=b"{}"))
        if not isinstance(answer, dict) or answer.get("accepted") is not True:
            raise PeerProtocolError(f"{self.credentials.peer_code} did not accept the hand-over")
        return answer

    async def handover_manifest(self) -> dict[str, Any]:
        """Every record the peer (closing) originated, and the originals they need."""
        path = f"{self.credentials.api_path}/handover/manifest"
        data = await self._json(self.signed_request("GET", path))
        keys = ("datasets", "products", "reports")
        if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in keys):
            raise PeerProtocolError("a hand-over manifest must list datasets, products, reports")
        if not isinstance(data.get("blobs"), dict):
            raise PeerProtocolError("a hand-over manifest must map its originals")
        return data

    def handover_file_request(self, sha256: str, name: str | None = None) -> httpx.Request:
        """The signed request for one original (or, with `name`, one derived file) of a
        hand-over; `federation.handover_transfer` sends it and checks the bytes against the
        manifest, which the peer signed: they need no signature of their own."""
        params = None if name is None else {"file": name}
        path = f"{self.credentials.api_path}/handover/blobs/{sha256}"
        return self.signed_request("GET", path, params=params)

    def handover_bundle_request(self, files: list[tuple[str, str | None]]) -> httpx.Request:
        """The signed request for several files of a hand-over at once, (SHA-256, derived
        file's name or None) each, answered in this order (`federation.handover_transfer`)."""
        asked = [{"sha256": sha, "file": name} for sha, name in files]
        body = json.dumps({"files": asked}).encode()
        return self.signed_request("POST", f"{self.credentials.api_path}/handover/bundle",
                                   body=body)  # fmt: skip

    async def handover_complete(
        self, refs: dict[str, int], calibrations: dict[str, int] | None = None
    ) -> dict[str, Any]:
        """Tell the closing peer we hold everything: it turns its records into our mirrors
        (our ids of its products, and of its calibrations by their id there)."""
        path = f"{self.credentials.api_path}/handover/complete"
        body = json.dumps({"products": refs, "calibrations": calibrations or {}}).encode()
        answer = await self._json(self.signed_request("POST", path, body=body))
        if not isinstance(answer, dict) or not isinstance(answer.get("moved"), int):
            raise PeerProtocolError("the hand-over's completion was not confirmed")
        return answer
