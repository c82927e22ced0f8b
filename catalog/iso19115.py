"""A dataset as an ISO 19115-3 metadata record (`mdb:MD_Metadata`, XML of ISO/TS 19115-3).

The record carries what GCMD, GeoNetwork and DataONE harvesters read: the identifier, the
origin center as the metadata contact and distributor, dates, the citation (title, issue
date, DOI or landing page, PI as originator), the abstract, keywords (campaign, platform,
instrument, variables), the geographic box and the time period, and the landing page as an
online resource. Built with lxml from a `Citation` plus the variable names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from lxml import etree

from catalog.citations import Citation

NS = {
    "mdb": "http://standards.iso.org/iso/19115/-3/mdb/2.0",
    "cit": "http://standards.iso.org/iso/19115/-3/cit/2.0",
    "mcc": "http://standards.iso.org/iso/19115/-3/mcc/1.0",
    "mri": "http://standards.iso.org/iso/19115/-3/mri/1.0",
    "gex": "http://standards.iso.org/iso/19115/-3/gex/1.0",
    "gco": "http://standards.iso.org/iso/19115/-3/gco/1.0",
    "lan": "http://standards.iso.org/iso/19115/-3/lan/1.0",
    "gml": "http://www.opengis.net/gml/3.2",
    "xlink": "http://www.w3.org/1999/xlink",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
SCHEMA_LOCATION = (
    "http://standards.iso.org/iso/19115/-3/mdb/2.0 "
    "https://schemas.isotc211.org/19115/-3/mdb/2.0/mdb.xsd"
)
CODELISTS = "https://schemas.isotc211.org/19115/resources/Codelist/cat/codelists.xml"


def _q(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


def _el(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, _q(name))
    if text is not None:
        child.text = text
    return child


def _string(parent: etree._Element, name: str, text: str) -> None:
    _el(_el(parent, name), "gco:CharacterString", text)


def _code(parent: etree._Element, name: str, codelist: str, value: str) -> None:
    code = _el(_el(parent, name), codelist, value)
    code.set("codeList", f"{CODELISTS}#{codelist.split(':')[1]}")
    code.set("codeListValue", value)


def _date(parent: etree._Element, wrapper: str, when: datetime, kind: str) -> None:
    date = _el(_el(parent, wrapper), "cit:CI_Date")
    _el(_el(date, "cit:date"), "gco:DateTime", when.strftime("%Y-%m-%dT%H:%M:%SZ"))
    _code(date, "cit:dateType", "cit:CI_DateTypeCode", kind)


def _organisation(parent: etree._Element, role: str, name: str, url: str = "") -> None:
    responsibility = _el(parent, "cit:CI_Responsibility")
    _code(responsibility, "cit:role", "cit:CI_RoleCode", role)
    party = _el(_el(responsibility, "cit:party"), "cit:CI_Organisation")
    _string(party, "cit:name", name)
    if url:
        info = _el(_el(party, "cit:contactInfo"), "cit:CI_Contact")
        _online(_el(info, "cit:onlineResource"), url, "Landing page")


def _individual(parent: etree._Element, role: str, name: str, affiliation: str) -> None:
    responsibility = _el(parent, "cit:CI_Responsibility")
    _code(responsibility, "cit:role", "cit:CI_RoleCode", role)
    party = _el(
        _el(responsibility, "cit:party"),
        "cit:CI_Organisation" if affiliation else "cit:CI_Individual",
    )
    if affiliation:
        _string(party, "cit:name", affiliation)
        person = _el(_el(party, "cit:individual"), "cit:CI_Individual")
        _string(person, "cit:name", name)
    else:
        _string(party, "cit:name", name)


def _online(parent: etree._Element, url: str, name: str) -> None:
    resource = _el(parent, "cit:CI_OnlineResource")
    _string(resource, "cit:linkage", url)
    _string(resource, "cit:name", name)


def _identifier(parent: etree._Element, code: str, space: str) -> None:
    identifier = _el(parent, "mcc:MD_Identifier")
    _string(identifier, "mcc:code", code)
    _string(identifier, "mcc:codeSpace", space)


def _citation(parent: etree._Element, c: Citation) -> None:
    citation = _el(_el(parent, "mri:citation"), "cit:CI_Citation")
    _string(citation, "cit:title", c.title)
    _date(citation, "cit:date", c.archived_at, "publication")
    if c.version:
        _string(citation, "cit:edition", c.version)
    if c.doi:
        _identifier(_el(citation, "cit:identifier"), c.doi, "doi.org")
    _identifier(_el(citation, "cit:identifier"), c.public_id, f"FieldCat {c.publisher_code}")
    for person in c.authors:
        _individual(
            _el(citation, "cit:citedResponsibleParty"),
            "originator",
            person.name,
            person.affiliation,
        )
    _organisation(_el(citation, "cit:citedResponsibleParty"), "publisher", c.publisher)
    if c.url:
        _online(_el(citation, "cit:onlineResource"), c.url, "Dataset page")


def _extent(parent: etree._Element, c: Citation, gml_id: str) -> None:
    extent = _el(_el(parent, "mri:extent"), "gex:EX_Extent")
    if c.bbox is not None:
        box = _el(_el(extent, "gex:geographicElement"), "gex:EX_GeographicBoundingBox")
        west, south, east, north = c.bbox
        for name, value in (("west", west), ("east", east), ("south", south), ("north", north)):
            edge = "Longitude" if name in ("west", "east") else "Latitude"
            _el(_el(box, f"gex:{name}Bound{edge}"), "gco:Decimal", repr(float(value)))
    temporal = _el(_el(extent, "gex:temporalElement"), "gex:EX_TemporalExtent")
    period = _el(_el(temporal, "gex:extent"), "gml:TimePeriod")
    period.set(_q("gml:id"), gml_id)
    _el(period, "gml:beginPosition", c.start.strftime("%Y-%m-%dT%H:%M:%SZ"))
    _el(period, "gml:endPosition", c.stop.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _keywords(parent: etree._Element, words: Sequence[str], kind: str) -> None:
    if not words:
        return
    keywords = _el(_el(parent, "mri:descriptiveKeywords"), "mri:MD_Keywords")
    for word in words:
        _string(keywords, "mri:keyword", word)
    _code(keywords, "mri:type", "mri:MD_KeywordTypeCode", kind)


def iso_record(c: Citation, variables: Sequence[str], updated: datetime) -> etree._Element:
    """The ISO 19115-3 record of the dataset `c` cites."""
    root = etree.Element(_q("mdb:MD_Metadata"), nsmap={k: v for k, v in NS.items()})
    root.set(_q("xsi:schemaLocation"), SCHEMA_LOCATION)
    _identifier(_el(root, "mdb:metadataIdentifier"), c.public_id, f"FieldCat {c.publisher_code}")
    locale = _el(_el(root, "mdb:defaultLocale"), "lan:PT_Locale")
    _code(locale, "lan:language", "lan:LanguageCode", "eng")
    _code(locale, "lan:characterEncoding", "lan:MD_CharacterSetCode", "utf8")
    _scope(root)
    _organisation(_el(root, "mdb:contact"), "pointOfContact", c.publisher, c.url)
    _date(root, "mdb:dateInfo", updated, "revision")
    standard = _el(_el(root, "mdb:metadataStandard"), "cit:CI_Citation")
    _string(standard, "cit:title", "ISO 19115-3")
    identification = _el(_el(root, "mdb:identificationInfo"), "mri:MD_DataIdentification")
    _citation(identification, c)
    _string(identification, "mri:abstract", c.summary or c.title)
    for person in c.authors:
        _individual(
            _el(identification, "mri:pointOfContact"),
            "principalInvestigator",
            person.name,
            person.affiliation,
        )
    _extent(identification, c, f"t{c.public_id}")
    _keywords(identification, [w for w in (c.campaign, c.campaign_name) if w], "project")
    _keywords(identification, [c.platform] if c.platform else [], "platform")
    _keywords(identification, [c.instrument] if c.instrument else [], "instrument")
    _keywords(identification, list(variables), "theme")
    return root


def _scope(root: etree._Element) -> None:
    scope = _el(_el(root, "mdb:metadataScope"), "mdb:MD_MetadataScope")
    _code(scope, "mdb:resourceScope", "mcc:MD_ScopeCode", "dataset")
