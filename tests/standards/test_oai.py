"""OAI-PMH against a real running node: a real harvester, resumption tokens, XML schemas.

The record schemas are shipped in tests/fixtures/schemas (their README says where each comes
from) and loaded from there only: the tests never reach the network.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import xmlschema
from lxml import etree
from oaipmh_scythe import Scythe

from tests.standards.faces_node import HIDDEN_STATES, FacesNode, data_canary, meta_canary

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "schemas"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
PREFIXES = ("oai_dc", "datacite", "iso19115-3")
LOCAL = {
    "http://dublincore.org/schemas/xmls/simpledc20021212.xsd": str(
        SCHEMAS / "oai_dc" / "simpledc20021212.xsd"
    ),
}


def _uri_mapper(uri: str) -> str:
    return LOCAL.get(uri, uri)


@pytest.fixture(scope="module")
def schemas() -> dict[str, xmlschema.XMLSchema]:
    """The record schemas by metadata prefix (loaded once; ISO 19115-3 takes seconds)."""
    return {
        "oai_dc": xmlschema.XMLSchema(
            SCHEMAS / "oai_dc" / "oai_dc.xsd", uri_mapper=_uri_mapper, allow="local"
        ),
        "datacite": xmlschema.XMLSchema(SCHEMAS / "datacite-4.6" / "metadata.xsd", allow="local"),
        "iso19115-3": xmlschema.XMLSchema(
            SCHEMAS / "iso19115-3" / "19115" / "-3" / "mdb" / "2.0" / "mdb.xsd", allow="local"
        ),
    }


def _harvest(url: str, prefix: str) -> Iterator[etree._Element]:
    with Scythe(f"{url}/oai") as scythe:
        for record in scythe.list_records(metadata_prefix=prefix, ignore_deleted=False):
            yield record.xml


def _expected_listed(faces: FacesNode) -> set[str]:
    """What anonymous may see (the JSON API's search) plus the withdrawn dataset."""
    found, query = set(), {"limit": "1000", "facets": "false"}
    page = httpx.get(f"{faces.url}/api/v1/datasets", params=query, timeout=30).json()
    found |= {item["public_id"] for item in page["items"]}
    return found | {faces.ids["withdrawn"]}


@pytest.mark.parametrize("prefix", PREFIXES)
def test_harvester_gets_every_record_once_and_each_validates(
    faces: FacesNode, schemas: dict[str, xmlschema.XMLSchema], prefix: str
) -> None:
    seen: list[str] = []
    deleted: list[str] = []
    for xml in _harvest(faces.url, prefix):
        header = xml.find(f"{OAI}header")
        identifier = header.findtext(f"{OAI}identifier").rsplit(":", 1)[1]
        seen.append(identifier)
        if header.get("status") == "deleted":
            deleted.append(identifier)
            assert xml.find(f"{OAI}metadata") is None
            continue
        payload = xml.find(f"{OAI}metadata")[0]
        schemas[prefix].validate(etree.tostring(payload).decode())
    assert len(seen) == len(set(seen)), "a record came twice"
    assert set(seen) == _expected_listed(faces)
    assert deleted == [faces.ids["withdrawn"]]


def test_resumption_tokens_page_the_list(faces: FacesNode) -> None:
    first = etree.fromstring(
        httpx.get(f"{faces.url}/oai?verb=ListIdentifiers&metadataPrefix=oai_dc").content
    )
    token = first.find(f"{OAI}ListIdentifiers/{OAI}resumptionToken")
    assert len(first.findall(f"{OAI}ListIdentifiers/{OAI}header")) == 3
    assert token is not None and token.text
    assert int(token.get("completeListSize")) == len(_expected_listed(faces))
    bad = httpx.get(f"{faces.url}/oai?verb=ListIdentifiers&resumptionToken=nonsense")
    assert b'code="badResumptionToken"' in bad.content


def test_identify_sets_and_errors(faces: FacesNode) -> None:
    with Scythe(f"{faces.url}/oai") as scythe:
        identify = scythe.identify()
        assert identify.deletedRecord == "persistent"
        assert identify.granularity == "YYYY-MM-DDThh:mm:ssZ"
        sets = {s.setSpec for s in scythe.list_sets()}
        formats = {f.metadataPrefix for f in scythe.list_metadata_formats()}
    assert {"campaign:indoex", "center:joss", "center:npl", "platform:c130"} <= sets
    assert formats == set(PREFIXES)
    npl = httpx.get(f"{faces.url}/oai?verb=ListIdentifiers&metadataPrefix=oai_dc&set=center:npl")
    assert faces.ids["mirror"].encode() in npl.content
    assert faces.ids["open"].encode() not in npl.content
    for query, code in (
        ("verb=Nonsense", "badVerb"),
        ("verb=ListRecords", "badArgument"),
        ("verb=ListRecords&metadataPrefix=marc", "cannotDisseminateFormat"),
        (
            "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:joss.fieldcat:nope",
            "idDoesNotExist",
        ),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2999-01-01", "noRecordsMatch"),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&from=2000-01-01&until=1999-01-01T00:00:00Z",
            "badArgument",
        ),
    ):
        answer = httpx.get(f"{faces.url}/oai?{query}")
        assert answer.status_code == 200
        assert f'code="{code}"'.encode() in answer.content, (query, answer.text)


def test_post_requests_answer_as_get(faces: FacesNode) -> None:
    form = {
        "verb": "GetRecord",
        "metadataPrefix": "datacite",
        "identifier": f"oai:joss.fieldcat:{faces.ids['open']}",
    }
    posted = httpx.post(f"{faces.url}/oai", data=form)
    got = httpx.get(f"{faces.url}/oai", params=form)
    strip = etree.fromstring(posted.content).find(f"{OAI}GetRecord")
    assert strip is not None
    assert etree.tostring(strip) == etree.tostring(
        etree.fromstring(got.content).find(f"{OAI}GetRecord")
    )


def test_hidden_metadata_and_data_never_leak_through_oai(faces: FacesNode) -> None:
    texts = []
    for prefix in PREFIXES:
        texts += [etree.tostring(x).decode() for x in _harvest(faces.url, prefix)]
    texts.append(httpx.get(f"{faces.url}/oai?verb=ListSets").text)
    for state in HIDDEN_STATES:
        assert not any(meta_canary(state) in t for t in texts), state
    assert not any(faces.ids["private"] in t for t in texts)
    assert not any(data_canary(i) in t for i in range(4) for t in texts)
    private = f"oai:joss.fieldcat:{faces.ids['private']}"
    one = httpx.get(f"{faces.url}/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier={private}")
    assert b'code="idDoesNotExist"' in one.content
    assert any(meta_canary("embargoed") in t for t in texts), "embargoed metadata is public"


def test_many_harvesters_at_once(faces: FacesNode) -> None:
    expected = len(_expected_listed(faces))

    def one(_: int) -> int:
        return sum(1 for _ in _harvest(faces.url, "oai_dc"))

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(16))) == {expected}
