"""OAI-PMH requests in, XML answers out: argument checks, one function per verb.

`answer` takes the request's arguments (query string or form, each name with all its values)
and always returns an OAI-PMH document: a protocol error is an `<error>` in a 200 answer, as
the protocol has it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from catalog.access import visible_filter
from catalog.models import Campaign, Center, Dataset
from catalog.oai import (
    EPOCH,
    FORMATS,
    OAI,
    VERBS,
    ListRequest,
    OaiError,
    Page,
    Repository,
    check_window,
    envelope,
    list_page,
    listed_clause,
    stamp,
    sub,
)
from catalog.oai_records import header, record, records_for
from catalog.oai_rows import record_rows
from catalog.schemas import Principal
from catalog.stac import slug


def _single(args: Mapping[str, Sequence[str]]) -> dict[str, str]:
    repeated = [name for name, values in args.items() if len(values) != 1]
    if repeated:
        raise OaiError("badArgument", f"repeated argument {repeated[0]}")
    return {name: values[0] for name, values in args.items()}


def _check_arguments(verb: str, args: dict[str, str]) -> None:
    allowed = VERBS[verb]
    unknown = set(args) - allowed
    if unknown:
        raise OaiError("badArgument", f"{verb} takes no argument {sorted(unknown)[0]}")
    if "resumptionToken" in args and len(args) > 1:
        raise OaiError("badArgument", "resumptionToken is an exclusive argument")
    required = {"GetRecord": {"identifier", "metadataPrefix"}}.get(verb, set())
    if verb in ("ListIdentifiers", "ListRecords") and "resumptionToken" not in args:
        required = {"metadataPrefix"}
    missing = required - set(args)
    if missing:
        raise OaiError("badArgument", f"{verb} needs {sorted(missing)[0]}")


def identify(root: etree._Element, session: Session, repo: Repository, now: datetime) -> None:
    """Identify: the repository's name, base URL, earliest datestamp and policies."""
    earliest = session.scalar(select(func.min(Dataset.updated)).where(listed_clause(now))) or EPOCH
    body = sub(root, f"{{{OAI}}}Identify")
    for name, value in (
        ("repositoryName", repo.name),
        ("baseURL", repo.base_url),
        ("protocolVersion", "2.0"),
        ("adminEmail", repo.admin_email),
        ("earliestDatestamp", stamp(earliest)),
        ("deletedRecord", "persistent"),
        ("granularity", "YYYY-MM-DDThh:mm:ssZ"),
    ):
        sub(body, f"{{{OAI}}}{name}", value)


def _visible_dataset(session: Session, repo: Repository, identifier: str, now: datetime) -> Dataset:
    public_id = repo.public_id(identifier)
    found = session.scalars(
        select(Dataset)
        .where(Dataset.public_id == public_id, listed_clause(now))
        .options(selectinload(Dataset.variables), selectinload(Dataset.versions))
    ).one_or_none()
    if found is None:
        raise OaiError("idDoesNotExist", f"no record {identifier}")
    return found


def list_formats(
    root: etree._Element, session: Session, repo: Repository, args: dict[str, str], now: datetime
) -> None:
    """ListMetadataFormats: every format (each record is available in all of them)."""
    if "identifier" in args:
        _visible_dataset(session, repo, args["identifier"], now)
    body = sub(root, f"{{{OAI}}}ListMetadataFormats")
    for prefix, (schema, namespace) in FORMATS.items():
        fmt = sub(body, f"{{{OAI}}}metadataFormat")
        sub(fmt, f"{{{OAI}}}metadataPrefix", prefix)
        sub(fmt, f"{{{OAI}}}schema", schema)
        sub(fmt, f"{{{OAI}}}metadataNamespace", namespace)


def list_sets(root: etree._Element, session: Session, args: dict[str, str], now: datetime) -> None:
    """ListSets: the campaigns, centers and platforms of listed records."""
    if "resumptionToken" in args:
        raise OaiError("badResumptionToken", "ListSets answers in one page")
    listed = visible_filter(Principal.anonymous(), now)  # not the withdrawn: sets are metadata
    campaigns = session.execute(
        select(Campaign.code, Campaign.name)
        .join(Dataset, Dataset.campaign_id == Campaign.id)
        .where(listed)
        .distinct()
    ).all()
    centers = session.execute(
        select(Center.code, Center.name)
        .join(Dataset, Dataset.origin_center == Center.code)
        .where(listed)
        .distinct()
    ).all()
    platforms = session.execute(
        select(Dataset.platform_key, func.min(Dataset.platform))
        .where(listed)
        .group_by(Dataset.platform_key)
    ).all()
    found: dict[str, str] = {}
    found |= {f"campaign:{slug(code)}": f"Campaign {name or code}" for code, name in campaigns}
    found |= {f"center:{slug(code)}": f"Center {name or code}" for code, name in centers}
    found |= {f"platform:{slug(key)}": f"Platform {name}" for key, name in platforms}
    body = sub(root, f"{{{OAI}}}ListSets")
    for spec, name in sorted(found.items()):
        entry = sub(body, f"{{{OAI}}}set")
        sub(entry, f"{{{OAI}}}setSpec", spec)
        sub(entry, f"{{{OAI}}}setName", name)


def _list_request(args: dict[str, str]) -> ListRequest:
    if "resumptionToken" in args:
        return ListRequest.from_token(args["resumptionToken"])
    check_window(args.get("from"), args.get("until"))
    return ListRequest(args["metadataPrefix"], args.get("set"), args.get("from"), args.get("until"))


def _token(body: etree._Element, page: Page) -> None:
    total = str(page.request.total or 0)
    cursor = str(page.request.cursor)
    if page.next_request is not None:
        sub(
            body,
            f"{{{OAI}}}resumptionToken",
            page.next_request.token(),
            completeListSize=total,
            cursor=cursor,
        )
    elif page.request.after is not None:  # the last page of a resumed list: an empty token
        sub(body, f"{{{OAI}}}resumptionToken", None, completeListSize=total, cursor=cursor)


def list_items(
    root: etree._Element,
    session: Session,
    repo: Repository,
    verb: str,
    args: dict[str, str],
    now: datetime,
) -> None:
    """ListIdentifiers and ListRecords: one page and its resumption token."""
    page = list_page(session, _list_request(args), repo, now)
    body = sub(root, f"{{{OAI}}}{verb}")
    if verb == "ListIdentifiers":
        for row in page.datasets:
            header(body, row, repo)
    else:
        records = records_for(session, page.datasets, repo, page.request.prefix, now)
        for row in page.datasets:
            record(body, row, records)
    _token(body, page)


def get_record(
    root: etree._Element, session: Session, repo: Repository, args: dict[str, str], now: datetime
) -> None:
    """GetRecord: one record in one format."""
    prefix = args["metadataPrefix"]
    if prefix not in FORMATS:
        raise OaiError("cannotDisseminateFormat", f"no metadata format {prefix!r}")
    public_id = repo.public_id(args["identifier"])
    found = record_rows(session, [Dataset.public_id == public_id, listed_clause(now)], 1)
    if not found:
        raise OaiError("idDoesNotExist", f"no record {args['identifier']}")
    body = sub(root, f"{{{OAI}}}GetRecord")
    record(body, found[0], records_for(session, found, repo, prefix, now))


def _dispatch(
    root: etree._Element,
    session: Session,
    repo: Repository,
    verb: str,
    args: dict[str, str],
    now: datetime,
) -> None:
    if verb == "Identify":
        identify(root, session, repo, now)
    elif verb == "ListMetadataFormats":
        list_formats(root, session, repo, args, now)
    elif verb == "ListSets":
        list_sets(root, session, args, now)
    elif verb in ("ListIdentifiers", "ListRecords"):
        list_items(root, session, repo, verb, args, now)
    else:
        get_record(root, session, repo, args, now)


def answer(
    session: Session, repo: Repository, raw: Mapping[str, Sequence[str]], now: datetime
) -> bytes:
    """The OAI-PMH document answering the request's arguments `raw`."""
    echo: dict[str, str] = {}
    try:
        args = _single(raw)
        verb = args.pop("verb", "")
        if verb not in VERBS:
            raise OaiError("badVerb", "missing or unknown verb")
        _check_arguments(verb, args)
        echo = {"verb": verb, **args}
        root = envelope(repo, echo, now)
        _dispatch(root, session, repo, verb, args, now)
    except OaiError as err:
        root = envelope(repo, echo if err.code not in ("badVerb", "badArgument") else {}, now)
        sub(root, f"{{{OAI}}}error", str(err), code=err.code)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data
