"""Sign-in that travels: a home center vouches for its user to one peer with a signed assertion.

The assertion is a JWT (RFC 7519) signed with HS256 under the key this center already shares
with that one peer for the federation's signed requests (`peer_keys`). A key is shared by
exactly two centers, so an assertion is audience-bound by construction as well as by its `aud`
claim: no third center can verify it, forge one, or be fooled by one meant for another. The
claims say who the user is at home (`sub`, `name`, `email`), their campaigns, and nothing
more: a vouched user is a PI at the peer, never staff. Assertions live at most
`MAX_LIFETIME`; the peer exchanges one once (`jti` is a nonce) for a session that ends when the
assertion would have.

Why not OpenID Connect discovery with asymmetric keys: the centers already trust each other
pairwise through these keys (exchanged out of band, rotated with a grace period, disabled by
disabling the peer); an OIDC issuer would add a second trust store (JWKS URLs, key pinning)
to keep in step with the first, and a redirect flow that API clients do not need. See
docs/access-federated.md for the threat model.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from sqlalchemy.orm import Session, sessionmaker

from catalog import peer_records
from federation.errors import SignatureError, UnknownPeerError
from federation.peers import signing_key

ALGORITHM = "HS256"
MAX_LIFETIME = timedelta(minutes=5)
"""No assertion is accepted for longer (inside the nonce table's replay window)."""
LEEWAY_S = 5
"""Clock skew tolerated between centers, in seconds."""


@dataclass(frozen=True)
class Vouched:
    """What a home center vouches for: a user of its own, and their campaigns."""

    center: str
    username: str
    display_name: str
    email: str
    campaigns: tuple[str, ...]
    expires_at: datetime


def issue_assertion(
    session: Session, *, issuer: str, audience: str, user: Vouched, now: datetime
) -> str:
    """An assertion for `audience` (an enabled peer with a key); UnknownPeerError otherwise."""
    peer = peer_records.find_peer(session, audience)
    key = signing_key(session, audience, now) if peer is not None and peer.enabled else None
    if peer is None or key is None:
        raise UnknownPeerError(f"no enabled peer {audience!r} with a key to vouch to")
    claims = {
        "iss": issuer,
        "aud": peer.code,
        "sub": user.username,
        "name": user.display_name,
        "email": user.email,
        "campaigns": list(user.campaigns),
        "iat": int(now.timestamp()),
        "exp": int(user.expires_at.timestamp()),
        "jti": secrets.token_hex(16),
    }
    header = {"alg": ALGORITHM, "kid": key.key_id, "typ": "JWT"}
    return jwt.encode(header, claims, OctKey.import_key(key.secret), algorithms=[ALGORITHM])


def _unverified(token: str) -> tuple[dict[str, object], dict[str, object]]:
    try:
        compact = jws.extract_compact(token.encode("ascii"))
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeError) as error:
        raise SignatureError("the assertion is not a signed JWT") from error
    if not isinstance(claims, dict):
        raise SignatureError("the assertion's claims are not an object")
    return compact.headers(), claims


def _decode(token: str, secrets_: list[str]) -> dict[str, object]:
    for secret in secrets_:
        try:
            return dict(jwt.decode(token, OctKey.import_key(secret), algorithms=[ALGORITHM]).claims)
        except JoseError:
            continue
    raise SignatureError("the assertion's signature does not verify under the issuer's keys")


def _check_claims(claims: dict[str, object], audience: str, now: datetime) -> None:
    registry = jwt.JWTClaimsRegistry(
        now=int(now.timestamp()),
        leeway=LEEWAY_S,
        iss={"essential": True},
        aud={"essential": True, "value": audience},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        jti={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as error:
        raise SignatureError(f"the assertion is refused: {error}") from error
    lifetime = int(str(claims["exp"])) - int(str(claims["iat"]))
    if lifetime > MAX_LIFETIME.total_seconds() or lifetime <= 0:
        raise SignatureError("the assertion's lifetime is out of bounds")


def verify_assertion(
    session: Session, factory: sessionmaker[Session], token: str, *, audience: str, now: datetime
) -> Vouched:
    """The vouched user, once: SignatureError when forged, replayed, stale, for another
    audience, or from an issuer that is not an enabled peer."""
    header, unverified = _unverified(token)
    issuer, key_id = str(unverified.get("iss", "")), str(header.get("kid", ""))
    if header.get("alg") != ALGORITHM:
        raise SignatureError("the assertion's algorithm is not HS256")
    claims = _decode(token, peer_records.key_secrets(session, issuer, key_id, now))
    _check_claims(claims, audience, now)
    if not peer_records.note_nonce(factory, issuer.upper(), f"v:{claims['jti']}"[:64], now):
        raise SignatureError("the assertion was already used (replay)")
    campaigns = claims.get("campaigns")
    return Vouched(
        center=issuer.upper(),
        username=str(claims["sub"])[:64],
        display_name=str(claims.get("name", ""))[:200],
        email=str(claims.get("email", ""))[:320],
        campaigns=tuple(str(c) for c in campaigns) if isinstance(campaigns, list) else (),
        expires_at=datetime.fromtimestamp(int(str(claims["exp"])), tz=now.tzinfo),
    )
