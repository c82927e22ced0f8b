"""The node's receivers, built from settings and run by one supervisor: start-up
reconciliation, then the FTP drop, the e-mail intake, the watched directory and the
configured streams (each with its instrument profile). `run_worker` starts the supervisor
and stops it with itself.

A receiver is a small object with a name, `start`, `stop` and health (`alive`, `detail`),
see `submissions.receiver_base.Receiver`; the e-mail intake is one of them, and another is
added by appending it to the list `build_receivers` returns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from web.settings import Settings, StreamSettings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from formats.profiles import Profile
    from submissions.ftp_drop import FtpDrop
    from submissions.mail_receiver import MailReceiver
    from submissions.pipeline import SubmissionResult
    from submissions.receiver_base import Receiver

logger = logging.getLogger(__name__)

FTP_RECEIVER = "ftp"
WATCH_RECEIVER = "watch"
MAIL_RECEIVER = "mail"


class DropIntake(Protocol):
    """Takes a dropped file in: anonymous, or as the user whose id is `owner`."""

    def __call__(self, path: Path, name: str, owner: int | None = None) -> SubmissionResult: ...


def intake_for(
    settings: Settings, engine: Engine, receiver: str, *, versions: bool = False
) -> DropIntake:
    """A function taking a file in through the pipeline as `receiver`: an anonymous drop, or
    the drop of the user whose id is given (their personal folder or login); with
    `versions`, a continuous stream's day versions, each in one transaction."""
    from catalog.db import make_session_factory
    from catalog.drops import drop_principal
    from catalog.schemas import Principal
    from catalog.storage import ArchiveStore
    from submissions.acceptance import SubmitOptions
    from submissions.pipeline import submit_file
    from submissions.stream_version import submit_version

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
        submit = submit_version if versions else submit_file
        return submit(
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
    directory = config.directory.resolve()
    return FtpDrop(
        config, lambda path: take(path, path.name, owner_of_upload(directory, path)),
        bytes_today, token_owner(engine),
    )  # fmt: skip


def token_owner(engine: Engine) -> Callable[[str], int | None]:
    """The id of the user whose live drop token is given, or None (FTP login, watched folder)."""
    from catalog.db import make_session_factory
    from catalog.drops import user_for_drop_token

    sessions = make_session_factory(engine)

    def owner_of(token: str) -> int | None:
        with sessions() as session:
            user = user_for_drop_token(session, token)
            return None if user is None else user.id

    return owner_of


def _mail_receiver(settings: Settings, engine: Engine) -> MailReceiver:
    from catalog.cursors import load_or_create_key
    from catalog.db import make_session_factory
    from submissions.mail_receiver import MailReceiver, MailReceiverConfig
    from web.mail_desk import mail_desk

    cfg = settings.submissions.mail
    secret = load_or_create_key(settings.root)
    desk = mail_desk(settings, make_session_factory(engine), secret)
    return MailReceiver(desk, MailReceiverConfig(cfg.host, cfg.port, cfg.max_message_bytes))


class MailIntakeReceiver:
    """The e-mail intake as a supervised receiver: each start serves a fresh SMTP server
    (spooled messages an earlier run left are filed first)."""

    name = MAIL_RECEIVER
    kind = "smtp"

    def __init__(self, make: Callable[[], MailReceiver]) -> None:
        self.make = make
        self.server: MailReceiver | None = None

    def start(self) -> None:
        self.server = self.make()
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def alive(self) -> bool:
        return self.server is not None and bool(self.server.health["running"])

    def detail(self) -> str:
        return "" if self.server is None else f"smtp {self.server.config.host}:{self.server.port}"


class FtpReceiver:
    """The FTP drop as a supervised receiver: each start serves a fresh `FtpDrop` (a
    stopped or crashed one cannot serve again) after taking in what was left behind."""

    name = FTP_RECEIVER
    kind = "ftp"

    def __init__(self, make: Callable[[], FtpDrop]) -> None:
        self.make = make
        self.drop: FtpDrop | None = None
        self.where = ""

    def start(self) -> None:
        self.drop = self.make()
        self.where = "ftp {}:{}".format(*self.drop.address)
        self.drop.take_leftovers()
        self.drop.start()

    def stop(self) -> None:
        if self.drop is not None:
            self.drop.stop()

    def alive(self) -> bool:
        return self.drop is not None and self.drop.serving()

    def detail(self) -> str:
        return self.where


def load_center_profiles(settings: Settings) -> dict[str, Profile]:
    """The center's instrument profiles, checked; a fault raises `ProfileError` (file, key,
    line), and a stream naming an unknown profile raises `ValueError`."""
    from formats.profiles import load_profiles

    profiles = load_profiles(settings.profiles_dir) if settings.profiles_dir else {}
    for stream in settings.streams:
        if stream.profile not in profiles:
            known = ", ".join(sorted(profiles)) or f"none (profiles_dir = {settings.profiles_dir})"
            raise ValueError(f"stream {stream.name}: no profile {stream.profile!r}; known: {known}")
    return profiles


def stream_folder(settings: Settings, stream: StreamSettings) -> Path:
    """Where a stream keeps its day rows (line streams) or takes files (folder streams)."""
    if stream.kind == "folder" and stream.folder is not None:
        return stream.folder
    return settings.root / "streams" / stream.name


def with_header(profile: Profile, header: dict[str, str | int | float]) -> Profile:
    """The profile with a stream's own header values (site location, platform...) over its
    own (the settings checked the keys)."""
    import dataclasses

    return dataclasses.replace(profile, header={**profile.header, **header}) if header else profile


def build_stream(
    settings: Settings, engine: Engine, stream: StreamSettings, profile: Profile
) -> Receiver:
    """One configured stream as a receiver."""
    from submissions import stream_receivers as kinds
    from submissions.day_stream import DayStream
    from submissions.profile_intake import FolderStreamReceiver, profile_take

    folder = stream_folder(settings, stream)
    profile = with_header(profile, stream.header)
    receiver = f"stream-{stream.name}"
    if stream.kind == "folder":
        watch = settings.submissions.watch
        take = intake_for(settings, engine, receiver)
        raw_take = profile_take(profile, take, settings.max_upload_bytes)
        return FolderStreamReceiver(stream.name, folder, raw_take, watch.poll_interval_s,
                                    watch.stable_polls)  # fmt: skip
    did = stream.did or int(profile.header["did"])
    take = intake_for(settings, engine, receiver, versions=True)
    day = DayStream(stream.name, profile, folder, take, did=did, every_s=stream.version_every_s)
    if stream.kind == "serial":
        return kinds.SerialLineReceiver(stream.name, day, stream.device, stream.baudrate)
    cls = kinds.TcpLineReceiver if stream.kind == "tcp" else kinds.HttpPushReceiver
    return cls(stream.name, day, stream.host, stream.port, stream.sources, stream.token)


def build_receivers(settings: Settings, engine: Engine) -> list[tuple[Receiver, bool]]:
    """Every receiver of the node and whether the configuration starts it at boot."""
    from catalog.storage import ArchiveStore
    from submissions.profile_intake import FolderStreamReceiver
    from submissions.watch_dir import PersonalFolders

    profiles = load_center_profiles(settings)
    receivers: list[tuple[Receiver, bool]] = []
    if settings.submissions.ftp.enabled:
        receivers.append((FtpReceiver(lambda: _ftp_drop(settings, engine)), True))
    if settings.submissions.mail.enabled:
        receivers.append((MailIntakeReceiver(lambda: _mail_receiver(settings, engine)), True))
    watch = settings.submissions.watch
    if watch.enabled:
        store = ArchiveStore(settings.root)
        take = intake_for(settings, engine, WATCH_RECEIVER)
        personal = PersonalFolders(token_owner(engine), take)
        watcher = FolderStreamReceiver(
            WATCH_RECEIVER, store.incoming_dir, take, watch.poll_interval_s,
            watch.stable_polls, (store.done_dir, store.rejected_dir), personal,
        )  # fmt: skip
        receivers.append((watcher, True))
    for stream in settings.streams:
        built = build_stream(settings, engine, stream, profiles[stream.profile])
        receivers.append((built, stream.enabled))
    return receivers


def warm_up_intake() -> None:
    """Import what validating a file needs, so a stream's first line is not slowed by it."""
    import formats

    sample = (
        "DID = 1\nFILE START TIME (UTC) = 1999-03-01T00:00:00Z\n"
        "FILE STOP TIME (UTC) = 1999-03-01T00:00:00Z\nPI NAME = x\nPLATFORM = x\n"
        "INSTRUMENT = x\nLOCATION = x; 1N 1E\nDATA VERSION = 1\n##END OF HEADER##\n"
        "DATE/TIME T\nUTC degC\n1999-03-01T00:00:00Z 1\n"
    )
    formats.validate(sample.encode(), filename="warm-up.txt")


def start_receivers(settings: Settings, engine: Engine, stop: threading.Event) -> threading.Thread:
    """Reconcile, then run the supervisor of every receiver in a thread until `stop`."""
    from catalog.db import make_session_factory
    from submissions.supervisor import Supervisor

    reconcile_at_start(settings, engine, datetime.now(UTC))
    if settings.streams:
        warm_up_intake()
    supervisor = Supervisor(build_receivers(settings, engine), make_session_factory(engine))
    thread = threading.Thread(
        target=supervisor.run, args=(stop,), name="fieldcat-supervisor", daemon=True
    )
    thread.start()
    return thread
