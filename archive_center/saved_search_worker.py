"""The worker's saved-search step: check every saved search, then deliver webhooks.

Checking is `catalog.saved_searches.check_all` (notices recorded, e-mail queued in the
outbox, which the worker's mail step sends). Webhooks are POSTed here, after the notices are
committed, with the signature header; a failed POST is retried at the next step.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from web.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)


def deliver_webhooks(engine: Engine, settings: Settings, now: datetime) -> int:
    """POST every pending webhook delivery; how many were accepted (2xx)."""
    import httpx

    from catalog.db import make_session_factory
    from catalog.saved_searches import SIGNATURE_HEADER, mark_delivered, pending_webhooks

    factory = make_session_factory(engine)
    with factory() as session:
        deliveries = pending_webhooks(session, settings.public_url.rstrip("/"))
    accepted = 0
    for delivery in deliveries:
        error = ""
        try:
            answer = httpx.post(
                delivery.url,
                content=delivery.body,
                timeout=settings.standards.webhook_timeout_s,
                headers={"Content-Type": "application/json", SIGNATURE_HEADER: delivery.signature},
            )
            if not answer.is_success:
                error = f"HTTP {answer.status_code}"
        except httpx.HTTPError as err:
            error = type(err).__name__
        with factory() as session, session.begin():
            mark_delivered(session, delivery, now, error)
        accepted += not error
    return accepted


def saved_search_step(engine: Engine, settings: Settings) -> int:
    """One round: check the saved searches, deliver webhooks; how many notices were new."""
    from catalog.db import make_session_factory
    from catalog.saved_searches import check_all

    now = datetime.now(UTC)
    found = check_all(make_session_factory(engine), now, settings.public_url.rstrip("/"))
    if sent := deliver_webhooks(engine, settings, now):
        logger.info("delivered %d saved-search webhook(s)", sent)
    return found
