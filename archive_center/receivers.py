"""The intake's background receivers, configured from settings: start-up reconciliation,
the FTP drop and the watched directory. `run_worker` starts them and stops them with itself."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from web.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from submissions.ftp_drop import FtpDrop
    from submissions.mail_receiver import MailReceiver
    from submissions.pipeline import SubmissionResult

logger = logging.getLogger(__name__)

FTP_RECEIVER = "ftp"
WATCH_RECEIVER = "watch"


class DropIntake(Protocol):
    """Takes a dropped file in: anonymous, or as the user whose id is `owner`."""

    def __call__(self, path: Path, name: str, owner: int | None = None) -> SubmissionResult: ...


@dataclass
class Receivers:
    """What `start_receivers` started; `stop()` ends it all."""

    ftp: FtpDrop | None = None
    mail: MailReceiver | None = None
    threads: list[threading.Thread] = field(default_factory=list)

    def stop(self) -> None:
        """Stop the FTP drop and the e-mail intake, and wait for the watcher (its stop event
        must be set)."""
        if self.ftp is not None:
            self.ftp.stop()
        if self.mail is not None:
            self.mail.stop()
        for thread in self.threads:
            thread.join(timeout=10)


def intake_for(settings: Settings, engine: Engine, receiver: str) -> DropIntake:
    """A function taking a file in through the pipeline as `receiver`: an anonymous drop, or
    the drop of the user whose id is given (their personal folder or login)."""
    from catalog.db import make_session_factory
    from catalog.drops import drop_principal
    from catalog.schemas import Principal
    from catalog.storage import ArchiveStore
    from submissions.acceptance import SubmitOptions
    from submissions.pipeline import submit_file

    sessions = make_session_factory(engine)
    store = ArchiveStore(settings.root)
    limit = settings.max_upload_bytes
    caps = settings.limits.to_limits()
    anonymous = Principal(username=f"{receiver}-drop")

    def take(path: Path, name: str, owner: int | None = None) -> SubmissionResult:
        submitter = anonymous
        if owner is not None:
            with sessions() as session:
                submitter = drop_principal(session, owner) or anonymous
        return submit_file(
            sessions, store, source=path, original_name=name, submitter=submitter,
            center_code=settings.center_code, campaign=settings.campaign.code,
            receiver=receiver, options=SubmitOptions(max_bytes=limit, limits=caps),
            now=datetime.now(UTC),
        )  # fmt: skip

    return take


def reconcile_at_start(settings: Settings, engine: Engine, started_at: datetime) -> None:
    """Finish or roll back what a crash left half done; clean staging."""
    from catalog.db import make_session_factory
    from catalog.storage import ArchiveStore
    from submissions.reconcile import reconcile

    reconcile(make_session_factory(engine), ArchiveStore(settings.root), started_at)


def _ftp_drop(settings: Settings, engine: Engine) -> FtpDrop:
    from catalog.db import make_session_factory
    from catalog.drops import user_for_drop_token
    from catalog.storage import ArchiveStore
    from catalog.submission_records import bytes_received_since
    from submissions.ftp_drop import FtpDrop, FtpDropConfig, owner_of_upload

    cfg = settings.submissions.ftp
    sessions = make_session_factory(engine)

    def bytes_today() -> int:
        midnight = datetime.combine(datetime.now(UTC).date(), time.min, tzinfo=UTC)
        with sessions() as session:
            return bytes_received_since(session, FTP_RECEIVER, midnight)

    config = FtpDropConfig(
        directory=ArchiveStore(settings.root).incoming_dir / "ftp", host=cfg.host,
        port=cfg.port, max_file_bytes=cfg.max_file_bytes,
        daily_quota_bytes=cfg.daily_quota_bytes, passive_ports=cfg.passive_ports,
    )  # fmt: skip
    take = intake_for(settings, engine, FTP_RECEIVER)

    def owner_of(token: str) -> int | None:
        with sessions() as session:
            user = user_for_drop_token(session, token)
            return None if user is None else user.id

    directory = config.directory.resolve()
    return FtpDrop(
        config, lambda path: take(path, path.name, owner_of_upload(directory, path)),
        bytes_today, owner_of,
    )  # fmt: skip


def _mail_receiver(settings: Settings, engine: Engine) -> MailReceiver:
    from catalog.db import make_session_factory
    from catalog.storage import ArchiveStore
    from submissions.acceptance import SubmitOptions
    from submissions.mail_intake import MailCaps, MailDesk
    from submissions.mail_receiver import MailReceiver, MailReceiverConfig

    cfg = settings.submissions.mail
    campaign = settings.campaign
    desk = MailDesk(
        sessions=make_session_factory(engine), store=ArchiveStore(settings.root),
        center_code=settings.center_code, campaign_code=campaign.code,
        reference_year=campaign.start.year,
        options=SubmitOptions(max_bytes=settings.max_upload_bytes,
                              limits=settings.limits.to_limits()),
        caps=MailCaps(cfg.max_parts, cfg.max_depth, cfg.max_attachments),
        mailbox=cfg.mailbox, now=lambda: datetime.now(UTC),
    )  # fmt: skip
    config = MailReceiverConfig(cfg.host, cfg.port, cfg.max_message_bytes)
    return MailReceiver(desk, config)


def start_receivers(settings: Settings, engine: Engine, stop: threading.Event) -> Receivers:
    """Reconcile, then start the FTP drop and the watched directory if configured."""
    from catalog.storage import ArchiveStore
    from submissions.watch_dir import DirectoryWatcher

    reconcile_at_start(settings, engine, datetime.now(UTC))
    receivers = Receivers()
    if settings.submissions.ftp.enabled:
        receivers.ftp = _ftp_drop(settings, engine)
        receivers.ftp.take_leftovers()
        receivers.ftp.start()
    if settings.submissions.mail.enabled:
        receivers.mail = _mail_receiver(settings, engine)
        receivers.mail.start()
    watch = settings.submissions.watch
    if watch.enabled:
        store = ArchiveStore(settings.root)
        watcher = DirectoryWatcher(
            store.incoming_dir, store.done_dir, store.rejected_dir,
            intake_for(settings, engine, WATCH_RECEIVER), watch.stable_polls,
        )  # fmt: skip
        thread = threading.Thread(
            target=watcher.run, args=(stop, watch.poll_interval_s), name="fieldcat-watch",
            daemon=True,
        )  # fmt: skip
        thread.start()
        receivers.threads.append(thread)
        logger.info("watching %s for drops", store.incoming_dir)
    return receivers
