"""Signed peer requests: HMAC-SHA256 over sender, audience, key id, method, path, query,
timestamp, nonce and the body's SHA-256 (SECURITY.md "Peer requests").

Answers are signed the same way, by the answering center with the key the request used,
under the method `ANSWER` (so an answer can never pass as a request) and with the request's
nonce (so an answer belongs to one request and an old one cannot be replayed). A client
applies nothing from an answer whose signature fails: without this, whoever could answer
for a peer's address (a spoofed DNS name, a man in the middle on plain HTTP) could feed a
center any record.

Pure functions: the caller looks up keys and remembers nonces (see `federation.peers`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, quote

from federation.errors import SignatureError

SCHEME = "FC1-HMAC-SHA256"
MAX_AGE = timedelta(minutes=5)
MAX_AHEAD = timedelta(seconds=30)
H_SENDER = "fieldcat-sender"
H_KEY_ID = "fieldcat-key-id"
H_TIMESTAMP = "fieldcat-timestamp"
H_NONCE = "fieldcat-nonce"
H_DIGEST = "fieldcat-content-sha256"
H_SIGNATURE = "fieldcat-signature"
SIGNED_HEADERS = (H_SENDER, H_KEY_ID, H_TIMESTAMP, H_NONCE, H_DIGEST, H_SIGNATURE)


@dataclass(frozen=True)
class SignedRequest:
    """What a receiver knows of a verified request: who sent it, with which key and nonce."""

    sender: str
    key_id: str
    nonce: str
    timestamp: datetime
    secret: str = field(default="", repr=False, compare=False)
    """The secret that verified it, to sign the answer with (never logged)."""


ANSWER = "ANSWER"


def canonical_query(query: str) -> str:
    """The query as sorted, re-encoded pairs, so equivalent encodings sign alike."""
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def body_digest(body: bytes) -> str:
    """The body's SHA-256 in hex."""
    return hashlib.sha256(body).hexdigest()


def string_to_sign(
    *,
    sender: str,
    audience: str,
    key_id: str,
    method: str,
    path: str,
    query: str,
    timestamp: str,
    nonce: str,
    digest: str,
) -> bytes:
    """The exact bytes the HMAC covers (one field a line)."""
    fields = (SCHEME, sender, audience, key_id, method.upper(), path, canonical_query(query))
    return "\n".join((*fields, timestamp, nonce, digest)).encode()


def _mac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_headers(
    *,
    sender: str,
    audience: str,
    key_id: str,
    secret: str,
    method: str,
    path: str,
    query: str,
    body: bytes,
    now: datetime,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that sign one request from `sender` to `audience`."""
    timestamp = now.isoformat()
    nonce = nonce or secrets.token_hex(16)
    digest = body_digest(body)
    message = string_to_sign(
        sender=sender, audience=audience, key_id=key_id, method=method, path=path,
        query=query, timestamp=timestamp, nonce=nonce, digest=digest,
    )  # fmt: skip
    return {
        H_SENDER: sender,
        H_KEY_ID: key_id,
        H_TIMESTAMP: timestamp,
        H_NONCE: nonce,
        H_DIGEST: digest,
        H_SIGNATURE: _mac(secret, message),
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise SignatureError(f"missing header {name}")
    return value


def _timestamp(text: str, now: datetime) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise SignatureError("malformed timestamp") from err
    if when.tzinfo is None:
        raise SignatureError("timestamp without a time zone")
    if when < now - MAX_AGE:
        raise SignatureError("stale timestamp")
    if when > now + MAX_AHEAD:
        raise SignatureError("timestamp in the future")
    return when


def verify_headers(
    *,
    audience: str,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    secrets_for: Callable[[str, str], list[str]],
) -> SignedRequest:
    """Check a request's signature; SignatureError says what is wrong.

    `secrets_for(sender, key_id)` gives the secrets currently valid under that key id (empty
    for an unknown or expired key). The nonce is returned for the caller to remember.
    """
    sender, key_id = _header(headers, H_SENDER), _header(headers, H_KEY_ID)
    stamp, nonce = _header(headers, H_TIMESTAMP), _header(headers, H_NONCE)
    digest, signature = _header(headers, H_DIGEST), _header(headers, H_SIGNATURE)
    if not 8 <= len(nonce) <= 64:
        raise SignatureError("nonce must be 8 to 64 characters")
    when = _timestamp(stamp, now)
    if not hmac.compare_digest(digest, body_digest(body)):
        raise SignatureError("body does not match its digest")
    valid = secrets_for(sender, key_id)
    if not valid:
        raise SignatureError("unknown or expired key")
    message = string_to_sign(
        sender=sender, audience=audience, key_id=key_id, method=method, path=path,
        query=query, timestamp=stamp, nonce=nonce, digest=digest,
    )  # fmt: skip
    matched = [s for s in valid if hmac.compare_digest(_mac(s, message), signature)]
    if not matched:
        raise SignatureError("signature does not match")
    return SignedRequest(
        sender=sender, key_id=key_id, nonce=nonce, timestamp=when, secret=matched[0]
    )


def sign_answer(
    request: SignedRequest, *, responder: str, path: str, query: str, body: bytes, now: datetime
) -> dict[str, str]:
    """The headers that sign the answer to a verified request (same key, same nonce)."""
    return sign_headers(
        sender=responder, audience=request.sender, key_id=request.key_id,
        secret=request.secret, method=ANSWER, path=path, query=query, body=body, now=now,
        nonce=request.nonce,
    )  # fmt: skip


def verify_answer(
    *,
    peer: str,
    local: str,
    key_id: str,
    secret: str,
    nonce: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> None:
    """Check that `peer` signed this answer to our request (`nonce`); SignatureError if not."""

    def only_our_key(sender: str, used_key: str) -> list[str]:
        return [secret] if sender.upper() == peer.upper() and used_key == key_id else []

    signed = verify_headers(
        audience=local, method=ANSWER, path=path, query=query, headers=headers, body=body,
        now=now, secrets_for=only_our_key,
    )  # fmt: skip
    if not hmac.compare_digest(signed.nonce, nonce):
        raise SignatureError("the answer belongs to another request")
