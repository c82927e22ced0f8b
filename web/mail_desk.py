"""The e-mail intake's desk as configured: one builder for the worker's SMTP receiver and for
the routes that file held mail (a confirmation, a staff release)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session, sessionmaker

from catalog.cursors import session_key
from catalog.storage import ArchiveStore
from submissions.acceptance import SubmitOptions
from submissions.mail_intake import MailCaps, MailDesk
from web.deps import SessionFactoryDep, SettingsDep
from web.settings import Settings


def mail_desk(settings: Settings, sessions: sessionmaker[Session], secret: bytes) -> MailDesk:
    """The desk the intake files mail with; `secret` is the center's key (`keys/cursor.key`)."""
    cfg = settings.submissions.mail
    campaign = settings.campaign
    return MailDesk(
        sessions=sessions, store=ArchiveStore(settings.root), center_code=settings.center_code,
        campaign_code=campaign.code, reference_year=campaign.start.year,
        options=SubmitOptions(max_bytes=settings.max_upload_bytes,
                              limits=settings.limits.to_limits()),
        caps=MailCaps(cfg.max_parts, cfg.max_depth, cfg.max_attachments),
        mailbox=cfg.mailbox, now=lambda: datetime.now(UTC), secret=secret,
        public_url=settings.public_url, confirm_ttl=timedelta(hours=cfg.confirm_ttl_hours),
    )  # fmt: skip


def get_mail_desk(settings: SettingsDep, sessions: SessionFactoryDep) -> MailDesk:
    """The desk of a request (signing with the key the app gives its sessions)."""
    with sessions() as session:
        secret = session_key(session)
    return mail_desk(settings, sessions, secret)


MailDeskDep = Annotated[MailDesk, Depends(get_mail_desk)]
