"""Search cursors are signed with a kept key of the center: one made up, altered, or signed
with another key answers 400 with a problem saying so (SECURITY.md row 25)."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

from catalog.cursors import KEY_FILE, SESSION_KEY, encode_cursor, load_or_create_key
from catalog.schemas import SearchParams
from tests.archive_center.conftest import Node

SEARCH = "/api/v1/datasets?limit=1&facets=false"


def _b64(body: dict[str, object]) -> str:
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(cursor: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(base64.urlsafe_b64decode(cursor + "=" * 4))
    return loaded


def _refused(node: Node, cursor: str) -> None:
    answer = node.client.get(f"{SEARCH}&cursor={cursor}")
    assert answer.status_code == 400, answer.text
    problem = answer.json()
    assert problem["type"].endswith("invalid-query")
    assert "cursor" in problem["detail"] and "start again" in problem["detail"]


def test_the_key_is_made_once_kept_and_private(tmp_path: Path) -> None:
    first = load_or_create_key(tmp_path)
    assert len(first) == 32
    assert load_or_create_key(tmp_path) == first
    mode = stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode)
    assert mode == 0o600


def test_the_node_signs_with_the_key_in_its_root(node: Node) -> None:
    key = (node.settings.root / KEY_FILE).read_bytes()
    with node.app.state.session_factory() as session:
        assert session.info[SESSION_KEY] == key
    first = node.client.get(SEARCH).json()
    cursor = first["next_cursor"]
    assert cursor is not None
    second = node.client.get(f"{SEARCH}&cursor={cursor}")
    assert second.status_code == 200
    assert second.json()["items"][0]["public_id"] != first["items"][0]["public_id"]


def test_an_unkeyed_checksum_no_longer_passes(node: Node) -> None:
    """The old scheme (a bare SHA-256 anyone can compute) is refused."""
    cursor = node.client.get(SEARCH).json()["next_cursor"]
    body = _unb64(cursor)
    body.pop("c")
    body["k"] = "0000-01-01T00:00:00+00:00"
    blob = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    body["c"] = hashlib.sha256(b"fieldcat-cursor:" + blob).hexdigest()[:12]
    _refused(node, _b64(body))


def test_a_tampered_cursor_is_refused(node: Node) -> None:
    cursor = node.client.get(SEARCH).json()["next_cursor"]
    body = _unb64(cursor)
    body["p"] = "zzzzzzzzzzzz"  # jump to another row, keeping the signature
    _refused(node, _b64(body))


def test_a_cursor_signed_with_another_key_is_refused(node: Node) -> None:
    params = SearchParams(limit=1, facets=False)
    forged = encode_cursor(params, "2000-01-01T00:00:00+00:00", "x", secret=b"k" * 32)
    _refused(node, forged)
