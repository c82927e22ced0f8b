"""Saved searches: a signed-in user's search, checked for new matches and lifted embargoes.

A saved search keeps the search as the API's query string. The worker's `check_all` runs
each one as its owner (the owner's principal, so the access policy decides what they hear
of) and records a `SavedSearchNotice` per (search, dataset, event), unique, so each new
match and each lifted embargo is told exactly once, however often the check runs or how many
workers run it. Events:

- `new`: a dataset registered after the search was saved (here, or at its origin for a
  mirrored one) matches;
- `released`: a matching dataset's embargo ended after the search was saved (only when the
  search follows embargoes).

Notices go out in one message per search and check: an e-mail queued in the outbox in the
same transaction (`catalog.outbox.queue_mail`, deduplicated by key), or a webhook POST of
JSON signed with HMAC-SHA256 (`X-FieldCat-Signature: sha256=<hex>`), sent after the commit
and retried on the next check until it is accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.errors import InvalidQueryError, NotFoundError
from catalog.faces_models import SavedSearch, SavedSearchNotice
from catalog.models import Dataset, User
from catalog.outbox import queue_mail
from catalog.schemas import Principal, Role, SearchParams
from catalog.search import filter_clauses, parse_bbox

LATE_COMMIT_MARGIN = timedelta(minutes=10)
"""A registration stamped before a check may commit after it: rows this much older than the
last check are looked at again (notices are unique, so none is told twice)."""
QUERY_KEYS = (
    "q",
    "start",
    "end",
    "bbox",
    "platform",
    "instrument",
    "pi",
    "variable",
    "project",
    "center",
    "access",
    "dataset",
)
"""The search's filters, and `dataset` (a public id): follow one dataset's embargo."""
MAX_PER_USER = 100
SIGNATURE_HEADER = "X-FieldCat-Signature"


def search_params(query: dict[str, str]) -> SearchParams:
    """A stored query string as search parameters (InvalidQueryError says what is wrong)."""
    unknown = set(query) - set(QUERY_KEYS)
    if unknown:
        raise InvalidQueryError(f"a saved search cannot filter by {sorted(unknown)[0]}")
    fields: dict[str, Any] = {k: v for k, v in query.items() if k != "dataset"}
    if "bbox" in fields:
        fields["bbox"] = parse_bbox(fields["bbox"])
    try:
        return SearchParams.model_validate(fields | {"facets": False})
    except ValueError as err:
        raise InvalidQueryError("the saved search's filters are not valid") from err


@dataclass(frozen=True)
class NewSavedSearch:
    """What a user asks to save."""

    name: str
    query: dict[str, str]
    follow_embargoes: bool = True
    webhook_url: str = ""
    email: str = ""
    """When set, becomes the user's address for notices (`users.email`)."""


def create_saved_search(
    session: Session, principal: Principal, request: NewSavedSearch, now: datetime
) -> tuple[SavedSearch, str]:
    """Save a search for the signed-in caller; returns it and its webhook secret (shown once)."""
    user = session.get(User, principal.user_id) if principal.user_id is not None else None
    if user is None:
        raise NotFoundError("no such user")
    search_params(request.query)  # refuse a broken query now, not at the first check
    owned = session.scalars(select(SavedSearch.id).where(SavedSearch.user_id == user.id)).all()
    if len(owned) >= MAX_PER_USER:
        raise InvalidQueryError(f"at most {MAX_PER_USER} saved searches per user")
    if request.webhook_url and not request.webhook_url.startswith(("http://", "https://")):
        raise InvalidQueryError("webhook_url must be an http(s) URL")
    if request.email:
        if "@" not in request.email or any(c in request.email for c in "\r\n,;<> "):
            raise InvalidQueryError("email is not an address")
        user.email = request.email
    if not request.webhook_url and not user.email:
        raise InvalidQueryError("give an email (or a webhook_url) to be told of new matches")
    secret = secrets.token_hex(32) if request.webhook_url else ""
    saved = SavedSearch(
        user_id=user.id,
        name=request.name,
        query=dict(request.query),
        follow_embargoes=request.follow_embargoes,
        webhook_url=request.webhook_url,
        webhook_secret=secret,
        created_at=now,
        checked_at=now,
    )
    session.add(saved)
    session.flush()
    return saved, secret


def list_saved_searches(session: Session, principal: Principal) -> list[SavedSearch]:
    """The caller's saved searches, oldest first."""
    query = select(SavedSearch).where(SavedSearch.user_id == principal.user_id)
    return list(session.scalars(query.order_by(SavedSearch.id)))


def delete_saved_search(session: Session, principal: Principal, search_id: int) -> None:
    """Delete one of the caller's saved searches (someone else's answers as missing)."""
    saved = session.get(SavedSearch, search_id)
    if saved is None or saved.user_id != principal.user_id:
        raise NotFoundError(f"no saved search {search_id}")
    session.delete(saved)


def _owner(session: Session, saved: SavedSearch) -> tuple[User, Principal] | None:
    user = session.get(User, saved.user_id)
    if user is None or not user.active:
        return None
    return user, Principal(user_id=user.id, username=user.username, role=Role(user.role))


def _matches(
    session: Session, saved: SavedSearch, principal: Principal, now: datetime
) -> list[tuple[Dataset, str]]:
    """(dataset, event) of every match not told yet (a bounded look at recent changes)."""
    since = (saved.checked_at or saved.created_at) - LATE_COMMIT_MARGIN
    clauses = filter_clauses(session, search_params(saved.query), principal, now)
    if "dataset" in saved.query:
        clauses.append(Dataset.public_id == saved.query["dataset"])
    told = select(SavedSearchNotice.dataset_public_id).where(
        SavedSearchNotice.saved_search_id == saved.id
    )
    new = select(Dataset).where(
        *clauses,
        Dataset.created >= saved.created_at,
        Dataset.updated >= since,
        Dataset.public_id.not_in(told.where(SavedSearchNotice.event == "new")),
    )
    found = [(d, "new") for d in session.scalars(new)]
    if saved.follow_embargoes:
        released = select(Dataset).where(
            *clauses,
            Dataset.access_state == "embargoed",
            and_(Dataset.release_at > saved.created_at, Dataset.release_at <= now),
            Dataset.public_id.not_in(told.where(SavedSearchNotice.event == "released")),
        )
        found += [(d, "released") for d in session.scalars(released)]
    return found


def _mail_body(saved: SavedSearch, found: list[tuple[Dataset, str]], base_url: str) -> str:
    lines = [f'New for your saved search "{saved.name or saved.id}":', ""]
    for dataset, event in found:
        what = "new dataset" if event == "new" else "embargo lifted, data now readable"
        lines.append(f"- {dataset.title} ({what})\n  {base_url}/datasets/{dataset.public_id}")
    lines += ["", "Delete the saved search to stop these messages."]
    return "\n".join(lines) + "\n"


def check_one(session: Session, saved: SavedSearch, now: datetime, base_url: str) -> int:
    """Record the new notices of one saved search (and queue its mail); how many."""
    owner = _owner(session, saved)
    if owner is None:
        return 0
    user, principal = owner
    found = _matches(session, saved, principal, now)
    saved.checked_at = now
    if not found:
        return 0
    notices = [
        SavedSearchNotice(
            saved_search_id=saved.id, dataset_public_id=d.public_id, event=event, created_at=now
        )
        for d, event in found
    ]
    session.add_all(notices)
    session.flush()
    if not saved.webhook_url:
        key = f"saved-search:{saved.id}:{notices[0].id}"
        queue_mail(
            session,
            user.email,
            f"FieldCat: {len(found)} new for {saved.name or 'your search'}",
            _mail_body(saved, found, base_url),
            now,
            kind="saved-search",
            dedupe_key=key,
        )
        for notice in notices:
            notice.delivered_at = now
    return len(notices)


def check_all(session_factory: Callable[[], Session], now: datetime, base_url: str) -> int:
    """Check every saved search, one transaction each; how many notices were recorded."""
    with session_factory() as session:
        ids = list(session.scalars(select(SavedSearch.id).order_by(SavedSearch.id)))
    total = 0
    for search_id in ids:
        try:
            with session_factory() as session, session.begin():
                saved = session.get(SavedSearch, search_id, with_for_update=True)
                if saved is not None:
                    total += check_one(session, saved, now, base_url)
        except IntegrityError:  # another worker recorded the same notice first
            continue
    return total


def signature(secret: str, body: bytes) -> str:
    """The webhook signature header's value of `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST to make: where, the body, its signature, and the notices it delivers."""

    url: str
    body: bytes
    signature: str
    notice_ids: tuple[int, ...]


def pending_webhooks(session: Session, base_url: str, limit: int = 100) -> list[WebhookDelivery]:
    """Undelivered webhook notices, grouped per saved search into one delivery each."""
    rows = session.execute(
        select(SavedSearchNotice, SavedSearch)
        .join(SavedSearch, SavedSearch.id == SavedSearchNotice.saved_search_id)
        .where(SavedSearchNotice.delivered_at.is_(None), SavedSearch.webhook_url != "")
        .order_by(SavedSearchNotice.id)
        .limit(limit)
    ).all()
    grouped: dict[int, tuple[SavedSearch, list[SavedSearchNotice]]] = {}
    for notice, saved in rows:
        grouped.setdefault(saved.id, (saved, []))[1].append(notice)
    deliveries = []
    for saved, notices in grouped.values():
        events = [
            {
                "event": n.event,
                "dataset": n.dataset_public_id,
                "url": f"{base_url}/datasets/{n.dataset_public_id}",
            }
            for n in notices
        ]
        body = json.dumps(
            {"saved_search": saved.id, "name": saved.name, "events": events}, separators=(",", ":")
        ).encode()
        deliveries.append(
            WebhookDelivery(
                saved.webhook_url,
                body,
                signature(saved.webhook_secret, body),
                tuple(n.id for n in notices),
            )
        )
    return deliveries


def mark_delivered(session: Session, delivery: WebhookDelivery, now: datetime, error: str) -> None:
    """Record a delivery's outcome: delivered, or one more failed attempt and why."""
    for notice_id in delivery.notice_ids:
        notice = session.get(SavedSearchNotice, notice_id)
        if notice is None:
            continue
        if error:
            notice.attempts += 1
            notice.last_error = error[:500]
        else:
            notice.delivered_at = now
