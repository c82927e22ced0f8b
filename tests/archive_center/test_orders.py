"""Orders: a basket across centers and a whole search result, built by the worker's step,
with progress, a manifest of SHA-256s, a README each, reasons for what is left out, the
dataset held at a peer fetched from its origin over HTTP, and a curl script."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from fastapi.testclient import TestClient

from archive_center.app import create_app
from catalog.order_build import build_due_orders
from catalog.registration import ensure_center
from catalog.schemas import Role
from catalog.users import create_user, issue_api_token
from tests.archive_center.conftest import (
    EMBARGOED_SAMPLE,
    NOW,
    Node,
    make_settings,
    seed,
)
from tests.conftest import SAMPLES
from web.links import API_LINKS

KCO, TRACK = "kco_surface_hourly.txt", "c130_rf07_track.txt"
MIRRORED_FILE = SAMPLES / "valid" / "c130_external_sampler.txt"


class _Origin(BaseHTTPRequestHandler):
    """The origin center's data route as a peer serves open data: GET answers the file."""

    served: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.served.get(self.path.split("?")[0])
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    """A real HTTP server on loopback answering for the peer that holds the mirrored file."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, database_url: str | None, origin: str):

    settings = make_settings(tmp_path_factory.mktemp("orders"), database_url)
    app = create_app(settings)
    app.state.clock = lambda: NOW
    with TestClient(app) as client:
        ids = seed(app)
        with app.state.session_factory() as session, session.begin():
            ensure_center(session, "NPL", "NPL New Delhi", origin, is_local=False)
            for name in ("alice", "bob"):
                create_user(session, username=name, password="a long password", role=Role.PI)
        _Origin.served[API_LINKS.dataset(ids["mirror"], "data")] = MIRRORED_FILE.read_bytes()
        yield Node(app, client, settings, ids)


def _token(shop: Node, username: str) -> dict[str, str]:
    from catalog.users import get_user

    with shop.app.state.session_factory() as session, session.begin():
        token = issue_api_token(session, get_user(session, username), name="t", now=NOW)
    return {"Authorization": f"Bearer {token}"}


def _build(shop: Node) -> int:
    from archive_center.order_worker import fetch_from_origin

    state = shop.app.state
    return build_due_orders(state.engine, state.store, API_LINKS, lambda: NOW, fetch_from_origin)


def test_a_basket_across_centers_with_reasons_and_checksums(shop: Node) -> None:
    ids = shop.ids
    wanted = [ids[KCO], ids[TRACK], ids[EMBARGOED_SAMPLE], ids["mirror"], "doesnotexist"]
    posted = shop.client.post("/api/v1/orders", json={"datasets": wanted})
    assert posted.status_code == 202, posted.text
    order = posted.json()
    assert order["state"] == "queued" and posted.headers["location"].endswith(order["order"])
    early = shop.client.get(f"/api/v1/orders/{order['order']}/zip")
    assert early.status_code == 409  # not ready yet
    assert _build(shop) == 1
    status = shop.client.get(f"/api/v1/orders/{order['order']}").json()
    assert status["state"] == "ready", status
    assert (status["total"], status["done"], status["included"]) == (5, 5, 3)
    reasons = {item["dataset"]: item for item in status["left_out"]}
    assert set(reasons) == {ids[EMBARGOED_SAMPLE], "doesnotexist"}
    assert reasons[ids[EMBARGOED_SAMPLE]]["kind"] == "closed"
    assert "embargoed until" in reasons[ids[EMBARGOED_SAMPLE]]["reason"]
    assert reasons["doesnotexist"]["kind"] == "not-found"
    got = shop.client.get(f"/api/v1/orders/{order['order']}/zip")
    assert got.status_code == 200
    with zipfile.ZipFile(io.BytesIO(got.content)) as archive:
        names = archive.namelist()
        manifest = archive.read("MANIFEST.txt").decode()
        for name in names:
            if name != "MANIFEST.txt":
                digest = hashlib.sha256(archive.read(name)).hexdigest()
                assert f"{name}  {archive.getinfo(name).file_size} bytes  sha256:{digest}" in (
                    manifest
                )
        fetched = [n for n in names if n.endswith(".dat")]
        assert len(fetched) == 1  # the mirrored dataset, fetched from its origin
        assert archive.read(fetched[0]) == MIRRORED_FILE.read_bytes()
    assert sum(n.endswith("README.txt") for n in names) == 3
    assert f"{ids[EMBARGOED_SAMPLE]}: data of" in manifest
    assert "doesnotexist: not found" in manifest


def test_a_whole_search_result_is_one_order(shop: Node) -> None:
    search = shop.client.get("/api/v1/datasets", params={"limit": 1000}).json()
    posted = shop.client.post("/api/v1/orders", json={"search": {}, "format": "original"})
    assert posted.status_code == 202, posted.text
    _build(shop)
    status = shop.client.get(f"/api/v1/orders/{posted.json()['order']}").json()
    assert status["state"] == "ready"
    assert status["total"] == len(search["items"])
    assert status["included"] + len(status["left_out"]) == status["total"]
    assert [item["kind"] for item in status["left_out"]] == ["closed"]  # only the embargoed


def test_an_order_answers_only_to_who_made_it(shop: Node) -> None:
    alice, bob = _token(shop, "alice"), _token(shop, "bob")
    posted = shop.client.post("/api/v1/orders", json={"datasets": [shop.ids[KCO]]}, headers=alice)
    order = posted.json()["order"]
    assert shop.client.get(f"/api/v1/orders/{order}", headers=alice).status_code == 200
    for who in (bob, {}):
        answer = shop.client.get(f"/api/v1/orders/{order}", headers=who)
        missing = shop.client.get("/api/v1/orders/doesnotexist", headers=who)
        assert answer.status_code == missing.status_code == 404
        assert answer.json()["detail"].replace(order, "doesnotexist") == missing.json()["detail"]
    _build(shop)


def test_the_script_fetches_each_readable_dataset(shop: Node) -> None:
    ids = shop.ids
    wanted = [ids[KCO], ids["mirror"], ids[EMBARGOED_SAMPLE]]
    order = shop.client.post("/api/v1/orders", json={"datasets": wanted}).json()["order"]
    script = shop.client.get(f"/api/v1/orders/{order}/script")
    assert script.status_code == 200
    lines = script.text.splitlines()
    assert lines[0] == "#!/bin/sh"
    curls = [line for line in lines if line.startswith("curl ")]
    assert len(curls) == 2
    assert any(f"{ids[KCO]}/data?format=original" in c and "testserver" in c for c in curls)
    assert any("127.0.0.1" in c and ids["mirror"] in c for c in curls)
    assert any(line.startswith(f"# left out {ids[EMBARGOED_SAMPLE]}: data of") for line in lines)
    _build(shop)


def test_bad_orders_are_refused(shop: Node) -> None:
    both = {"datasets": ["x"], "search": {}}
    assert shop.client.post("/api/v1/orders", json=both).status_code == 400
    assert shop.client.post("/api/v1/orders", json={}).status_code == 400
    bad = shop.client.post("/api/v1/orders", json={"datasets": ["x"], "format": "gif"})
    assert bad.status_code == 400


def test_an_origin_that_does_not_deliver_is_a_reason_not_a_broken_file(shop: Node) -> None:
    mirrored = shop.ids["mirror"]
    path = API_LINKS.dataset(mirrored, "data")
    kept = _Origin.served.pop(path)
    try:
        posted = shop.client.post("/api/v1/orders", json={"datasets": [shop.ids[KCO], mirrored]})
        _build(shop)
    finally:
        _Origin.served[path] = kept
    order = posted.json()["order"]
    status = shop.client.get(f"/api/v1/orders/{order}").json()
    assert status["state"] == "ready" and status["included"] == 1
    [left] = status["left_out"]
    assert left["dataset"] == mirrored and left["kind"] == "held-elsewhere"
    assert "did not deliver it (the origin answered 404)" in left["reason"]
    with zipfile.ZipFile(io.BytesIO(shop.client.get(f"/api/v1/orders/{order}/zip").content)) as z:
        assert not [n for n in z.namelist() if n.endswith(".dat")]  # no partial file
