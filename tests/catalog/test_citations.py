"""The citation formats from one record: people taken apart, TeX escaped, RIS and DataCite."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from catalog.citations import CITATION_FORMATS, Citation, citation_bibtex, parse_people


def record(**changes: object) -> Citation:
    fields: dict[str, object] = {
        "public_id": "Ab_3", "did": "RF07", "authors": parse_people("Doe, John (NCAR)"),
        "year": 2003, "archived_at": datetime(2003, 6, 1, tzinfo=UTC),
        "title": "O3 & CO_2 at 50% {raw}", "version": "R1", "campaign": "INDOEX",
        "campaign_name": "Indian Ocean Experiment", "platform": "C-130", "instrument": "UV",
        "publisher": "NPL New Delhi", "publisher_code": "NPL",
        "url": "http://npl.example/datasets/Ab_3", "summary": "", "bbox": None,
        "start": datetime(1999, 3, 1, tzinfo=UTC), "stop": datetime(1999, 3, 2, tzinfo=UTC),
    }  # fmt: skip
    fields.update(changes)
    return Citation(**fields)  # type: ignore[arg-type]


def test_people_are_split_and_their_affiliations_kept_apart() -> None:
    people = parse_people("Ramanathan, Priya (SIO/C4); Mitra, Ashok (NPL) and Lobert, Jurgen")
    assert [p.name for p in people] == ["Ramanathan, Priya", "Mitra, Ashok", "Lobert, Jurgen"]
    assert [p.affiliation for p in people] == ["SIO/C4", "NPL", ""]
    assert people[0].family == "Ramanathan" and people[0].given == "Priya"
    assert parse_people("")[0].name == "Unknown PI"


def test_bibtex_escapes_what_tex_would_read_as_commands() -> None:
    bib = citation_bibtex(record(authors=parse_people("Doe, John; Roe, Jane")))
    assert r"title = {{O3 \& CO\_2 at 50\% \{raw\}}}" in bib
    assert "author = {Doe, John and Roe, Jane}" in bib
    assert bib.count("{") == bib.count("}")


def test_every_format_names_the_same_year_and_publisher() -> None:
    c = record()
    for name, fmt in CITATION_FORMATS.items():
        body = fmt.render(c)
        assert "2003" in body and "NPL New Delhi" in body, name
    datacite = json.loads(CITATION_FORMATS["datacite-json"].render(c))
    assert datacite["alternateIdentifiers"][0]["alternateIdentifier"] == "RF07"
    assert "geoLocations" not in datacite and "descriptions" not in datacite
