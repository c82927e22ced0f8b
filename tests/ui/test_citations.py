"""Citations: the origin center and the version's archive year, the same on the page, in the
bundle README and in every export (text, BibTeX, RIS, DataCite JSON)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, datetime
from html import unescape

from sqlalchemy import select, update

from catalog.models import Dataset, DatasetVersion
from tests.archive_center.conftest import MIRROR_URL, NOW, Node

KCO = "kco_surface_hourly.txt"
ARCHIVED_AT_ORIGIN = datetime(2003, 6, 1, 12, tzinfo=UTC)


def cite(node: Node, public_id: str, fmt: str) -> str:
    r = node.client.get(f"/api/v1/datasets/{public_id}/citation", params={"format": fmt})
    assert r.status_code == 200, r.text
    return r.text


def page_citation(node: Node, public_id: str) -> str:
    html = node.client.get(f"/datasets/{public_id}").text
    found = re.search(r'<p class="citation">(.*?)</p>', html, re.S)
    assert found, "no citation on the page"
    return unescape(found.group(1))


def archive_mirror_in_2003(node: Node) -> str:
    """The mirrored record's version as registered at its origin in 2003 (as a feed carries)."""
    public_id = node.ids["mirror"]
    with node.app.state.session_factory() as session, session.begin():
        dataset_id = session.scalar(select(Dataset.id).where(Dataset.public_id == public_id))
        session.execute(
            update(DatasetVersion)
            .where(DatasetVersion.dataset_id == dataset_id)
            .values(created_at=ARCHIVED_AT_ORIGIN)
        )
    return public_id


def test_a_mirrored_record_is_credited_to_its_origin_with_the_archive_year(node: Node) -> None:
    public_id = archive_mirror_in_2003(node)
    text = cite(node, public_id, "text").strip()
    assert "(2003)" in text
    assert "NPL New Delhi (NPL)" in text and "UCAR/JOSS" not in text
    assert f"{MIRROR_URL}/datasets/{public_id}" in text
    assert page_citation(node, public_id) == text  # the page says the same
    bib = cite(node, public_id, "bibtex")
    assert bib.startswith(f"@misc{{{public_id},")
    assert "year = {2003}" in bib and "publisher = {NPL New Delhi}" in bib
    datacite = json.loads(cite(node, public_id, "datacite-json"))
    assert datacite["publicationYear"] == "2003"
    assert datacite["publisher"] == {"name": "NPL New Delhi"}
    assert datacite["url"] == f"{MIRROR_URL}/datasets/{public_id}"


def test_a_local_record_cites_the_same_in_page_bundle_and_exports(node: Node) -> None:
    public_id = node.ids[KCO]
    text = cite(node, public_id, "text").strip()
    assert text.startswith(f"Lobert, Jurgen ({NOW.year}): ")
    assert "UCAR/JOSS Boulder (JOSS)" in text and "http://testserver/datasets/" in text
    assert page_citation(node, public_id) == text
    r = node.client.post("/api/v1/bundles", json={"datasets": [public_id]})
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as bundle:
        readme = next(n for n in bundle.namelist() if n.endswith("README.txt"))
        assert text in bundle.read(readme).decode()


def test_ris_and_datacite_exports_are_well_formed(node: Node) -> None:
    public_id = node.ids[KCO]
    r = node.client.get(f"/api/v1/datasets/{public_id}/citation?format=ris")
    assert r.headers["content-type"].startswith("application/x-research-info-systems")
    assert f'filename="{public_id}.ris"' in r.headers["content-disposition"]
    lines = r.text.split("\r\n")
    assert lines[0] == "TY  - DATA" and lines[-2] == "ER  -" and lines[-1] == ""
    tags = {line[:2]: line[6:] for line in lines if line}
    assert tags["AU"] == "Lobert, Jurgen" and tags["PY"] == str(NOW.year)
    assert tags["PB"] == "UCAR/JOSS Boulder (JOSS)"
    assert all(re.fullmatch(r"[A-Z][A-Z0-9]  - .*|ER  -", line) for line in lines if line)
    datacite = json.loads(cite(node, public_id, "datacite-json"))
    assert datacite["types"]["resourceTypeGeneral"] == "Dataset"
    creator = datacite["creators"][0]
    assert creator["familyName"] == "Lobert" and creator["givenName"] == "Jurgen"
    assert creator["affiliation"] == [{"name": "SIO"}]
    assert datacite["geoLocations"][0]["geoLocationBox"]["southBoundLatitude"] == 4.965


def test_the_page_links_every_export_and_bad_formats_are_refused(node: Node) -> None:
    public_id = node.ids[KCO]
    html = node.client.get(f"/datasets/{public_id}").text
    for fmt in ("bibtex", "ris", "datacite-json"):
        link = f"/api/v1/datasets/{public_id}/citation?format={fmt}"
        assert f'href="{link}"' in html
        assert node.client.get(link).status_code == 200
    assert (
        node.client.get(f"/api/v1/datasets/{public_id}/citation?format=endnote").status_code == 422
    )
    assert node.client.get("/api/v1/datasets/nope/citation").status_code == 404


def test_an_embargoed_record_can_be_cited_by_anyone_who_sees_it(node: Node) -> None:
    from tests.archive_center.conftest import EMBARGOED_SAMPLE

    text = cite(node, node.ids[EMBARGOED_SAMPLE], "text")
    assert "Doe, John" in text


def test_the_json_ld_of_a_mirrored_record_names_its_origin_as_provider(node: Node) -> None:
    import html as html_module

    public_id = node.ids["mirror"]
    page = node.client.get(f"/datasets/{public_id}", headers={"Accept": "text/html"}).text
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert found, "no JSON-LD on the page"
    doc = json.loads(html_module.unescape(found.group(1)))
    assert doc["provider"]["name"] == "NPL New Delhi"
    assert doc["includedInDataCatalog"]["name"] == "FieldCat UCAR/JOSS Boulder"
