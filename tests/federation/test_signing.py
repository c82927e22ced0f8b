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


def _answer_to(request: dict[str, str], body: bytes = b'{"changes":[]}', **over: object) -> dict:
    """NPL's signed answer to JOSS's request `request` (the secret that verified it)."""
    from federation.signing import sign_answer

    verified = verify(request)
    args: dict[str, object] = {
        "responder": "NPL", "path": "/api/v1/federation/changes", "query": "since=3&limit=10",
        "body": body, "now": NOW,
    }  # fmt: skip
    args.update(over)
    return sign_answer(verified, **args)  # type: ignore[arg-type]


def _check_answer(request: dict[str, str], answer: dict[str, str], **over: object) -> None:
    from federation.signing import H_NONCE, verify_answer

    args: dict[str, object] = {
        "peer": "NPL", "local": "JOSS", "key_id": "k1", "secret": "s1",
        "nonce": request[H_NONCE], "path": "/api/v1/federation/changes",
        "query": "since=3&limit=10", "headers": answer, "body": b'{"changes":[]}', "now": NOW,
    }  # fmt: skip
    args.update(over)
    verify_answer(**args)  # type: ignore[arg-type]


def test_an_answer_is_signed_for_its_request_only() -> None:
    request = signed()
    answer = _answer_to(request)
    _check_answer(request, answer)  # the genuine answer passes
    with pytest.raises(SignatureError, match="body does not match"):
        _check_answer(request, answer, body=b'{"changes":[{"forged":1}]}')
    with pytest.raises(SignatureError, match="another request"):  # an old answer, replayed
        _check_answer(signed(), answer, nonce="f" * 32)
    with pytest.raises(SignatureError, match="signature does not match"):  # another route's
        _check_answer(request, answer, path="/api/v1/federation/digests")
    with pytest.raises(SignatureError, match="unknown or expired key"):  # not NPL's key
        _check_answer(request, answer, peer="LMD")
    with pytest.raises(SignatureError, match="signature does not match"):
        _check_answer(request, answer, secret="guessed")
    with pytest.raises(SignatureError, match="missing header"):  # unsigned: an impostor
        _check_answer(request, {})
    with pytest.raises(SignatureError, match="stale timestamp"):
        _check_answer(request, answer, now=NOW + timedelta(minutes=10))


def test_a_request_signature_never_passes_as_an_answer() -> None:
    request = signed(sender="NPL", audience="JOSS")  # a request NPL once sent JOSS
    with pytest.raises(SignatureError, match="signature does not match"):
        _check_answer(request, request, body=b"")
