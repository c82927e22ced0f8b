"""A DOI travels: two real nodes (JOSS - NPL); JOSS mints DOIs for its record at a small real
DataCite server, and NPL's mirrored copy cites the DOI its origin minted, in every face."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer

import httpx
import pytest

from catalog.db import make_session_factory
from catalog.doi_minting import DataCiteAccount, mint_dois
from catalog.schemas import Principal, Role
from tests.federation.cluster import Node, build_cluster, close_all, publish, start_all
from tests.polling import eventually
from tests.standards.test_doi import PASSWORD, PREFIX, USER, FakeDataCite, _handler


@pytest.fixture(scope="module")
def datacite_server() -> Iterator[FakeDataCite]:
    """The DataCite stand-in on a loopback port, serving in a thread."""
    state = FakeDataCite()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    """JOSS and NPL, peered."""
    nodes = build_cluster(tmp_path_factory.mktemp("doi"), [("JOSS", "NPL")], ("JOSS", "NPL"))
    try:
        start_all(nodes)
        yield nodes
    finally:
        close_all(nodes)


def _mint(node: Node, public_id: str, datacite: FakeDataCite) -> str:
    """Mint at `node` as its staff would; the dataset's DOI."""
    account = DataCiteAccount(PREFIX, USER, PASSWORD, datacite.url)
    staff = Principal(user_id=None, role=Role.STAFF)
    with make_session_factory(node.engine)() as session, session.begin():
        result = mint_dois(session, public_id, account, datetime.now(UTC), staff)
    return result.dois[0][0]


def test_a_mirror_cites_the_doi_its_origin_minted(
    pair: dict[str, Node], datacite_server: FakeDataCite
) -> None:
    joss, npl = pair["JOSS"], pair["NPL"]
    (public_id,) = publish(joss, 1, label="doi")
    eventually(lambda: npl.get(f"/datasets/{public_id}").status_code == 200)
    assert npl.get(f"/datasets/{public_id}").json()["doi"] == ""

    doi = _mint(joss, public_id, datacite_server)
    assert doi.startswith(f"{PREFIX}/") and public_id.lower() in doi.lower()
    assert doi in datacite_server.dois

    mirrored = eventually(
        lambda: (r := npl.get(f"/datasets/{public_id}").json())["doi"] == doi and r,
        timeout=30,
    )
    assert mirrored["origin_center"] == "JOSS"
    citation = npl.get(f"/datasets/{public_id}/citation", format="bibtex").text
    assert f"doi = {{{doi}}}" in citation
    text = npl.get(f"/datasets/{public_id}/citation").text
    assert f"https://doi.org/{doi}" in text
    item = httpx.get(f"{npl.url}/stac/search", params={"ids": public_id}).json()["features"][0]
    assert item["properties"]["sci:doi"] == doi
    oai = httpx.get(
        f"{npl.url}/oai",
        params={
            "verb": "GetRecord",
            "metadataPrefix": "oai_dc",
            "identifier": f"oai:npl.fieldcat:{public_id}",
        },
    ).text
    assert f"https://doi.org/{doi}" in oai
    # the origin's own record says the same, and it was minted once, at the origin only
    assert joss.get(f"/datasets/{public_id}").json()["doi"] == doi
    assert sum(1 for method, *_ in datacite_server.calls if method == "POST") == 2
