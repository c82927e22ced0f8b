"""DataCite records and DOI minting, against a small real HTTP server speaking DataCite's REST
API (the endpoints the `datacite` package's client uses), run in a thread of the test."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from datacite import schema45
from fastapi.testclient import TestClient

from archive_center.app import create_app
from catalog.schemas import Role
from catalog.users import create_user, issue_api_token
from tests.archive_center.conftest import NOW, make_settings, seed

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "schemas"
PREFIX = "10.80001"
USER, PASSWORD = "JOSS.FIELDCAT", "datacite secret"


@dataclass
class FakeDataCite:
    """What the server received: (method, path, body) per request, and the DOIs it holds."""

    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    dois: dict[str, dict[str, Any]] = field(default_factory=dict)
    url: str = ""


def _handler(state: FakeDataCite) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.api+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

        def do_POST(self) -> None:
            if self.headers.get("Authorization") != expected:
                return self._answer(401, {"errors": [{"title": "Bad credentials"}]})
            body = self._body()
            state.calls.append(("POST", self.path, body))
            attributes = body["data"]["attributes"]
            doi = attributes["doi"]
            if self.path != "/dois" or doi in state.dois:
                return self._answer(422, {"errors": [{"title": "This DOI has already been taken"}]})
            state.dois[doi] = attributes
            return self._answer(201, {"data": {"id": doi, "attributes": attributes}})

        def do_PUT(self) -> None:
            if self.headers.get("Authorization") != expected:
                return self._answer(401, {"errors": [{"title": "Bad credentials"}]})
            body = self._body()
            state.calls.append(("PUT", self.path, body))
            doi = self.path.removeprefix("/dois/")
            if doi not in state.dois:
                return self._answer(404, {"errors": [{"title": "not found"}]})
            state.dois[doi] |= body["data"]["attributes"]
            return self._answer(200, {"data": {"id": doi, "attributes": state.dois[doi]}})

    return Handler


@pytest.fixture(scope="module")
def datacite() -> Iterator[FakeDataCite]:
    """The DataCite stand-in on a loopback port, serving in a thread."""
    state = FakeDataCite()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class Center:
    client: TestClient
    ids: dict[str, str]
    staff: dict[str, str]


def _center(root: Path, datacite_url: str | None) -> Iterator[Center]:
    settings = make_settings(root, None)
    if datacite_url:
        settings.doi.prefix, settings.doi.username = PREFIX, USER
        settings.doi.password, settings.doi.api_url = PASSWORD, datacite_url
    app = create_app(settings)
    app.state.clock = lambda: NOW
    with TestClient(app) as client:
        ids = seed(app)
        with app.state.session_factory() as session, session.begin():
            user = create_user(
                session, username="staff", password="staff pass 1", role=Role.STAFF, now=NOW
            )
            token = issue_api_token(session, user, name="t", now=NOW)
        yield Center(client, ids, {"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def minting(tmp_path_factory: pytest.TempPathFactory, datacite: FakeDataCite) -> Iterator[Center]:
    """A center with DataCite credentials."""
    yield from _center(tmp_path_factory.mktemp("minting"), datacite.url)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Center]:
    """A center without DataCite credentials."""
    yield from _center(tmp_path_factory.mktemp("plain"), None)


def test_records_validate_without_credentials_and_minting_says_so(plain: Center) -> None:
    dataset = plain.ids["c130_rf07_track.txt"]
    answer = plain.client.get(f"/api/v1/datasets/{dataset}/datacite")
    assert answer.status_code == 200
    assert answer.headers["x-fieldcat-doi-minting"] == "not-configured"
    record = answer.json()
    assert schema45.validate(record)
    assert record["publisher"] == {"name": "UCAR/JOSS Boulder"}
    assert record["types"]["resourceTypeGeneral"] == "Dataset"
    assert record["relatedIdentifiers"][0]["relationType"] == "HasVersion"
    version = plain.client.get(f"/api/v1/datasets/{dataset}/datacite?version=1").json()
    assert {
        "relatedIdentifier": record["url"],
        "relatedIdentifierType": "URL",
        "relationType": "IsVersionOf",
    } in version["relatedIdentifiers"]
    assert version["geoLocations"][0]["geoLocationBox"]["westBoundLongitude"] == pytest.approx(
        73.5311
    )
    xml = plain.client.get(f"/api/v1/datasets/{dataset}/datacite?format=xml&version=1")
    xmlschema.XMLSchema(SCHEMAS / "datacite-4.6" / "metadata.xsd", allow="local").validate(
        xml.content.decode()
    )
    refused = plain.client.post(f"/api/v1/datasets/{dataset}/doi", json={}, headers=plain.staff)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith(":doi-not-configured")


def test_staff_mint_then_update_and_the_doi_shows_everywhere(
    minting: Center, datacite: FakeDataCite
) -> None:
    dataset = minting.ids["c130_rf07_track.txt"]
    assert minting.client.post(f"/api/v1/datasets/{dataset}/doi", json={}).status_code == 401
    answer = minting.client.post(
        f"/api/v1/datasets/{dataset}/doi", json={"event": "publish"}, headers=minting.staff
    )
    assert answer.status_code == 200, answer.text
    minted = answer.json()
    concept = f"{PREFIX}/fieldcat.joss.{dataset.lower()}"
    assert [(m["version"], m["doi"], m["created"]) for m in minted] == [
        (0, concept, True),
        (1, f"{concept}.v1", True),
    ]
    assert [c[:2] for c in datacite.calls] == [("POST", "/dois"), ("POST", "/dois")]
    sent = datacite.dois[f"{concept}.v1"]
    assert sent["event"] == "publish" and sent["url"].endswith(f"/datasets/{dataset}#version-1")
    assert {
        "relatedIdentifier": concept,
        "relatedIdentifierType": "DOI",
        "relationType": "IsVersionOf",
    } in sent["relatedIdentifiers"]
    again = minting.client.post(f"/api/v1/datasets/{dataset}/doi", json={}, headers=minting.staff)
    assert [m["created"] for m in again.json()] == [False, False]
    assert [c[:2] for c in datacite.calls[2:]] == [
        ("PUT", f"/dois/{concept}"),
        ("PUT", f"/dois/{concept}.v1"),
    ]
    cite = f"/api/v1/datasets/{dataset}/citation"
    assert f"https://doi.org/{concept}.v1" in minting.client.get(cite).text
    assert f"doi = {{{concept}.v1}}" in minting.client.get(f"{cite}?format=bibtex").text
    assert f"DO  - {concept}.v1" in minting.client.get(f"{cite}?format=ris").text
    assert minting.client.get(f"{cite}?format=datacite-json").json()["doi"] == f"{concept}.v1"
    assert f"{concept}.v1" in minting.client.get(f"/datasets/{dataset}").text
    record = minting.client.get(f"/api/v1/datasets/{dataset}/datacite").json()
    assert record["doi"] == concept
    item = minting.client.get(f"/stac/collections/campaign-indoex/items/{dataset}").json()
    assert item["properties"]["sci:doi"] == f"{concept}.v1"
    searched = minting.client.get(f"/stac/search?ids={dataset}").json()["features"]
    assert searched[0]["properties"]["sci:doi"] == f"{concept}.v1"
    assert f"https://doi.org/{concept}.v1" in minting.client.get("/search.atom").text
    oai = minting.client.get(
        f"/oai?verb=GetRecord&metadataPrefix=iso19115-3&identifier=oai:joss.fieldcat:{dataset}"
    )
    assert f"{concept}.v1" in oai.text


def test_mirrored_records_are_minted_by_their_origin(minting: Center) -> None:
    mirror = minting.ids["mirror"]
    answer = minting.client.post(f"/api/v1/datasets/{mirror}/doi", json={}, headers=minting.staff)
    assert answer.status_code == 409
    assert "origin center NPL" in answer.json()["detail"]
