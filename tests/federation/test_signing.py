"""The signature covers every part SECURITY.md names; each change to one is caught."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from federation.errors import SignatureError
from federation.signing import H_SIGNATURE, canonical_query, sign_headers, verify_headers

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEYS = {("JOSS", "k1"): ["s1"], ("JOSS", "k2"): ["s2"]}


def signed(**overrides: object) -> dict[str, str]:
    """Headers of GET /changes?since=3&limit=10 from JOSS to NPL with key k1."""
    args: dict[str, object] = {
        "sender": "JOSS", "audience": "NPL", "key_id": "k1", "secret": "s1", "method": "GET",
        "path": "/api/v1/federation/changes", "query": "since=3&limit=10", "body": b"",
        "now": NOW,
    }  # fmt: skip
    args.update(overrides)
    return sign_headers(**args)  # type: ignore[arg-type]


def verify(headers: dict[str, str], **overrides: object) -> object:
    """Verify as NPL would, with the request parts possibly changed."""
    args: dict[str, object] = {
        "audience": "NPL", "method": "GET", "path": "/api/v1/federation/changes",
        "query": "since=3&limit=10", "headers": headers, "body": b"", "now": NOW,
        "secrets_for": lambda sender, key_id: KEYS.get((sender, key_id), []),
    }  # fmt: skip
    args.update(overrides)
    return verify_headers(**args)  # type: ignore[arg-type]


def test_a_valid_signature_verifies_whatever_the_query_order() -> None:
    assert canonical_query("limit=10&since=3") == canonical_query("since=3&limit=10")
    result = verify(signed(), query="limit=10&since=3")
    assert getattr(result, "sender") == "JOSS"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"query": "since=0&limit=10"}, "signature does not match"),
        ({"path": "/api/v1/federation/digests"}, "signature does not match"),
        ({"method": "POST"}, "signature does not match"),
        ({"audience": "LMD"}, "signature does not match"),
        ({"body": b"{}"}, "digest"),
        ({"now": NOW + timedelta(minutes=6)}, "stale"),
        ({"now": NOW - timedelta(minutes=1)}, "future"),
    ],
)
def test_each_part_is_covered(change: dict[str, object], reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(signed(), **change)


def test_keys_unknown_wrong_or_rotated() -> None:
    with pytest.raises(SignatureError, match="unknown or expired"):
        verify(signed(key_id="k9"))
    with pytest.raises(SignatureError, match="signature does not match"):
        verify(signed(secret="wrong"))
    assert verify(signed(key_id="k2", secret="s2"))
    with pytest.raises(SignatureError, match="missing header"):
        verify({k: v for k, v in signed().items() if k != H_SIGNATURE})
