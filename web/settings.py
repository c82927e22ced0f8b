"""Settings of one node: a TOML file, then `FIELDCAT_*` environment variables over it."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from formats.limits import Limits

CONFIG_ENV = "FIELDCAT_CONFIG"


class CampaignSettings(BaseModel):
    """The campaign this center archives (its period places year-less times)."""

    code: str = "INDOEX"
    name: str = "Indian Ocean Experiment"
    start: date = date(1999, 1, 1)
    end: date = date(1999, 3, 31)
    intensive_end: date = date(1999, 3, 31)
    default_state: Literal["embargoed", "campaign"] = "embargoed"
    """The stage of a new dataset without an explicit choice, until the default release."""

    @model_validator(mode="after")
    def _ordered(self) -> CampaignSettings:
        if self.start > self.end:
            raise ValueError("campaign start is after its end")
        return self


class PeerSettings(BaseModel):
    """Another center this one mirrors metadata with."""

    code: str
    name: str = ""
    url: str
    key_id: str = ""
    """With `secret`: a shared signing key, added to the database at start (optional)."""
    secret: str = ""


class FederationSettings(BaseModel):
    """How this center replicates with its peers (see `federation.replicator`)."""

    enabled: bool = True
    tick_s: float = Field(default=0.1, gt=0)
    poll_interval_s: float = Field(default=30.0, gt=0)
    backoff_base_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=300.0, gt=0)
    page_size: int = Field(default=2000, ge=1, le=10_000)
    timeout_s: float = Field(default=30.0, gt=0)
    accept_handover_from: list[str] = Field(default_factory=list)
    """Peers whose records this center agrees to take over (`fieldcat handover` at theirs)."""


class AccessSettings(BaseModel):
    """Sign-in, grants and the LAN/public listener split."""

    session_hours: float = Field(default=12.0, gt=0)
    """Absolute lifetime of a web session."""
    session_idle_minutes: float = Field(default=120.0, gt=0)
    grant_minutes: float = Field(default=30.0, gt=0)
    """How long a dataset or form password grant lasts."""
    password_attempts: int = Field(default=5, ge=1)
    """Attempts per client and dataset (or form) within `attempt_window_minutes`."""
    attempt_window_minutes: float = Field(default=15.0, gt=0)
    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses or networks whose `X-Forwarded-For` is believed; nobody else's is."""
    public_host: str | None = None
    """A second listener serving the read-only public face (the main one stays on the LAN)."""
    public_port: int | None = Field(default=None, ge=0, le=65535)
    cookie_secure: bool | None = None
    """Mark cookies `Secure`; None means: when the public URL is https."""
    vouched_lifetime_s: int = Field(default=120, ge=2, le=300)
    """How long an assertion this center signs for a peer, and so a vouched session, lives."""
    release_reminder_days: float = Field(default=14.0, gt=0)
    """How long before a release its owner is reminded."""


class ServerSettings(BaseModel):
    """How many requests one process works on at once, and how long one may queue.

    The sizing rule (checked at start, see `web.admission`):
    - `active_requests` <= `threads`: every admitted request finds a worker thread, and the
      threads left over serve file streaming and conversions, which hold no connection;
    - the database pool holds 2 x `active_requests` connections (a request uses at most two
      at once: its own session and a credential exchange's own transaction), so an admitted
      request never waits for a connection while holding a thread another one needs;
    - a request waits at most `queue_timeout_s` to be admitted, else it is answered `503`
      with `Retry-After: retry_after_s` at once (overload is refused fast, never a stall).
    """

    threads: int = Field(default=40, ge=2, le=1000)
    """Tokens of the threadpool sync routes and dependencies run in (anyio's default 40)."""
    active_requests: int = Field(default=20, ge=1, le=1000)
    """Requests working at once (the rest wait in a FIFO queue, up to `queue_timeout_s`)."""
    queue_timeout_s: float = Field(default=5.0, gt=0, le=300)
    pool_timeout_s: float = Field(default=2.0, gt=0, le=300)
    """Wait for a database connection beyond which a request answers 503 (never reached
    under the rule above; it bounds the wait if the rule is broken by other pool users)."""
    retry_after_s: int = Field(default=2, ge=1, le=3600)

    @model_validator(mode="after")
    def _sized_together(self) -> ServerSettings:
        if self.active_requests > self.threads:
            raise ValueError("server.active_requests must not exceed server.threads")
        return self

    @property
    def pool_connections(self) -> int:
        """Database connections one process may hold: two per active request."""
        return 2 * self.active_requests


class FtpSettings(BaseModel):
    """The anonymous, write-only FTP drop (off unless enabled)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=2121, ge=0, le=65535)
    max_file_bytes: int = Field(default=256 * 1024**2, gt=0)
    daily_quota_bytes: int = Field(default=2 * 1024**3, gt=0)
    passive_ports: tuple[int, int] | None = None


class WatchSettings(BaseModel):
    """The watched directory `<root>/incoming` (off unless enabled)."""

    enabled: bool = False
    poll_interval_s: float = Field(default=1.0, gt=0)
    stable_polls: int = Field(default=2, ge=1)
    """A file is taken once its size and time stayed the same over this many polls."""


class MailIntakeSettings(BaseModel):
    """The e-mail intake's SMTP receiver (off unless enabled); replies go through `[mail]`."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=2525, ge=1, le=65535)
    mailbox: str = Field(default="intake", pattern=r"^[a-z0-9._-]{1,64}$")
    """The local part mail goes to: `intake+TOKEN@...` is a user's personal address."""
    domain: str = "localhost"
    """The domain users send to (the address the API tells them: `intake+TOKEN@domain`)."""
    max_message_bytes: int = Field(default=25 * 1024**2, gt=0)
    max_attachments: int = Field(default=10, ge=1, le=1000)
    max_parts: int = Field(default=50, ge=1, le=10_000)
    """MIME parts of one message (all levels): more is refused as a MIME bomb."""
    max_depth: int = Field(default=4, ge=1, le=100)
    """How deep multiparts may nest."""
    confirm_ttl_hours: int = Field(default=168, ge=1, le=24 * 90)
    """How long the signed link that confirms a held message stays valid."""
    held_retention_days: int = Field(default=30, ge=1, le=3650)
    """Held mail waiting longer is flagged on the staff queue (listed, never deleted)."""


class LimitSettings(BaseModel):
    """Caps on one submitted file (docs/limits.md); a file over one is rejected with a
    LIM diagnostic before it is parsed further."""

    max_header_bytes: int = Field(default=Limits.max_header_bytes, ge=1024)
    """Bytes before the data block (1 MiB)."""
    max_line_chars: int = Field(default=Limits.max_line_chars, ge=1024)
    """Characters of one line (256 KiB)."""
    max_columns: int = Field(default=Limits.max_columns, ge=2)
    """Columns (variables) of one file (2,000)."""
    max_remarks_chars: int = Field(default=Limits.max_remarks_chars, ge=1024)
    """Characters of all REMARKS (or comment lines) of one file (64 KiB)."""

    def to_limits(self) -> Limits:
        """The `formats.Limits` these settings give."""
        return Limits(**self.model_dump())


class StreamSettings(BaseModel):
    """One supervised ingest stream (docs/streams.md): its kind, its instrument profile,
    where it listens or reads, and from whom it takes lines."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    kind: Literal["folder", "tcp", "serial", "http"]
    profile: str
    enabled: bool = True
    did: int | None = Field(default=None, ge=1)
    """The stream's DID; a day's dataset is this DID followed by the date. Default: the
    profile's."""
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    sources: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    token: str = ""
    device: str = ""
    baudrate: int = Field(default=9600, gt=0)
    folder: Path | None = None
    version_every_s: float = Field(default=1.0, gt=0)
    header: dict[str, str | int | float] = Field(default_factory=dict)
    """Per-stream header values over the profile's (`location`, `platform`, `pi`...): one
    profile serves the same logger at several sites."""

    @model_validator(mode="after")
    def _complete(self) -> StreamSettings:
        if self.kind in ("tcp", "http") and (not self.port or not self.sources):
            raise ValueError(f"stream {self.name}: a {self.kind} stream needs a port and sources")
        if self.kind == "serial" and not self.device:
            raise ValueError(f"stream {self.name}: a serial stream needs a device")
        from formats.profiles import HEADER_KEYS

        if unknown := sorted(set(self.header) - (HEADER_KEYS - {"remarks"})):
            raise ValueError(f"stream {self.name}: header has no key {', '.join(unknown)}")
        return self


class SubmissionSettings(BaseModel):
    """The intake's receivers besides the web/REST upload."""

    ftp: FtpSettings = FtpSettings()
    watch: WatchSettings = WatchSettings()
    mail: MailIntakeSettings = MailIntakeSettings()


def _default_derive_processes() -> int:
    """Half the cores, at least one: on a 2-core node one process derives, one core is left
    for uploads and downloads."""
    return max(1, (os.cpu_count() or 2) // 2)


class WorkerSettings(BaseModel):
    """How the background worker makes derived files (stored NetCDF, quick-look plots)."""

    derive_processes: int = Field(default_factory=_default_derive_processes, ge=1, le=64)
    """Processes deriving files at once (each runs at a lower CPU priority than the API)."""
    niceness: int = Field(default=5, ge=0, le=19)
    """Added to the deriving processes' nice value: under load the API gets about three times
    their share of the CPU (CFS weights), yet they are not starved by other programs."""
    poll_s: float = Field(default=0.5, gt=0)
    """How often the worker looks for new versions (a cheap query); a new version is derived
    within about this long, whichever receiver or process registered it."""


class ConversionSettings(BaseModel):
    """Conversions made on request (subset or format change of a download)."""

    max_in_flight: int = Field(default=8, ge=1, le=256)
    """Conversions one process takes on at once (working or waiting their turn); one more is
    answered 503 with `Retry-After`."""
    running: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1, le=64)
    """Of those, how many work at once (CPU-bound: one per core)."""
    retry_after_s: int = Field(default=2, ge=1, le=3600)


class MailSettings(BaseModel):
    """Mail this center sends (notices, receipts): the relay it hands them to.

    Without `relay_host` nothing is sent; messages wait in the outbox (`catalog.outbox`)
    until a relay is configured.
    """

    relay_host: str = ""
    relay_port: int = Field(default=25, ge=1, le=65535)
    from_address: str = "fieldcat@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout_s: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_base_s: float = Field(default=30.0, gt=0)
    """The first retry after a relay error waits this long; each further one twice as long."""


class CidsSettings(BaseModel):
    """The analysis center's merges (docs/cids.md)."""

    navigation_max_gap_s: float = Field(default=10.0, gt=0, le=86_400)
    """A measurement time gets a merged position only between navigation samples at most this
    far apart (no position across a longer gap)."""


class DoiSettings(BaseModel):
    """DataCite: where this center mints DOIs. Without a prefix and credentials, DataCite
    records are still served and `POST .../doi` answers `doi-not-configured`."""

    prefix: str = ""
    """The center's DOI prefix, e.g. `10.5065`."""
    username: str = ""
    """The DataCite repository account (e.g. `JOSS.FIELDCAT`)."""
    password: str = ""
    api_url: str = "https://api.datacite.org/"
    """`https://api.test.datacite.org/` for DataCite's test system."""
    timeout_s: float = Field(default=30.0, gt=0)


class StandardsSettings(BaseModel):
    """The standard faces: OAI-PMH paging, feeds and saved-search notices."""

    oai_page_size: int = Field(default=500, ge=1, le=10_000)
    """Records (or headers) per OAI-PMH answer; the rest follows by resumption token."""
    oai_admin_email: str = "fieldcat@localhost"
    """The `adminEmail` OAI-PMH's Identify names."""
    feed_size: int = Field(default=50, ge=1, le=1000)
    """Entries in one Atom feed."""
    saved_search_interval_s: float = Field(default=60.0, gt=0)
    """How often the worker checks saved searches for new matches and lifted embargoes."""
    webhook_timeout_s: float = Field(default=10.0, gt=0)


class Settings(BaseSettings):
    """Everything one center is configured with."""

    model_config = SettingsConfigDict(
        env_prefix="FIELDCAT_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    center_code: str = "JOSS"
    center_name: str = "UCAR/JOSS Boulder"
    public_url: str = ""
    """Base URL peers and users reach; empty means `http://<host>:<port>`."""
    root: Path = Path("fieldcat-data")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    campaign: CampaignSettings = CampaignSettings()
    max_upload_bytes: int = Field(default=2 * 1024**3, gt=0)
    peers: list[PeerSettings] = Field(default_factory=list)
    worker_interval_s: float = Field(default=30.0, gt=0)
    """How often the worker's housekeeping runs (staging clean-up, credential sweep, retries
    of derivations that failed); new versions are derived at once (`worker.poll_s`)."""
    worker: WorkerSettings = WorkerSettings()
    conversions: ConversionSettings = ConversionSettings()
    submissions: SubmissionSettings = SubmissionSettings()
    profiles_dir: Path | None = None
    """The folder of instrument profiles (`*.toml`), checked at start."""
    streams: list[StreamSettings] = Field(default_factory=list)
    limits: LimitSettings = LimitSettings()

    access: AccessSettings = AccessSettings()
    server: ServerSettings = ServerSettings()
    federation: FederationSettings = FederationSettings()
    mail: MailSettings = MailSettings()
    cids: CidsSettings = CidsSettings()

    doi: DoiSettings = DoiSettings()
    standards: StandardsSettings = StandardsSettings()

    @model_validator(mode="after")
    def _fill_public_url(self) -> Settings:
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"
        self.public_url = self.public_url.rstrip("/")
        return self

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside the storage root."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.root.resolve() / 'fieldcat.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments first, then the environment, then the TOML file (if one is named)."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(config: Path | None = None) -> Settings:
    """Settings from `config` (or the file `FIELDCAT_CONFIG` names), overridden by the env."""
    if config is None and os.environ.get(CONFIG_ENV):
        config = Path(os.environ[CONFIG_ENV])
    if config is None:
        return Settings()
    if not config.is_file():
        raise FileNotFoundError(f"configuration file not found: {config}")
    config_dict: dict[str, Any] = {**Settings.model_config, "toml_file": config}

    class _FileSettings(Settings):
        model_config = SettingsConfigDict(**config_dict)  # type: ignore[typeddict-item]

    # Re-validated as plain `Settings` so callers never see the per-file subclass.
    return Settings(**_FileSettings().model_dump())
