"""Configuration: defaults, then a TOML file, then the environment, then overrides.

Everything is validated once, at start-up, into a frozen object; a bad value raises
`ConfigError` naming the key, which the CLI prints as one line instead of a traceback.
Reading the layers and checking one value at a time is in `meetings.core.config`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from meetings.core import config
from meetings.core.config import ConfigError

LOCALES = ("vi", "en")


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    #: Where links in e-mails and pages point: as configured, or else derived from the
    #: host and port the server listens on (`public_url_is_set` tells which).
    public_url: str
    environment: str
    #: The service's own working files (uploads awaiting confirmation, generated files).
    var_dir: Path
    public_url_is_set: bool = False

    @property
    def is_development(self) -> bool:
        return self.environment == "development"


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    echo: bool

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


@dataclass(frozen=True)
class OrganisationSettings:
    name: str
    governing_body: str
    short_name: str
    document_code: str
    address: str
    hall: str
    city: str
    timezone: str
    locale: str
    #: "Biên bản được lập thành 02 bản": how many copies of the minutes are made.
    minutes_copies: int
    #: Who signs letters (giấy mời): the authority line ("TL. CHỦ TỊCH", "" for none),
    #: the position, and the full name ("" leaves the name to be written by hand).
    signer_authority: str
    signer_title: str
    signer_name: str
    #: Whom the sites call about a session (the giấy mời names them), and their phone.
    contact_name: str = ""
    contact_phone: str = ""


@dataclass(frozen=True)
class MailSettings:
    mode: str
    drop_dir: Path
    from_address: str
    from_name: str
    smtp_host: str
    smtp_port: int
    smtp_tls: str
    #: Trust only these authorities for the server's certificate (None: the system's).
    smtp_cafile: Path | None
    smtp_user: str
    smtp_password: str
    max_connections: int
    #: Deliver the outbox from this process (off where another process delivers).
    worker: bool
    #: A claim not renewed for this long was left by a dead worker: another may take it.
    lease_seconds: int


@dataclass(frozen=True)
class InboundSettings:
    """The mailbox that hears the sites (notify.inbound); `enabled` False: none."""

    enabled: bool
    #: The mailbox's address: ORGANIZER and Reply-To of invitations, base of return paths.
    address: str
    imap_host: str
    imap_port: int
    #: "tls" (implicit, 993) or "starttls".
    imap_tls: str
    imap_cafile: Path | None
    imap_user: str
    imap_password: str
    folder: str
    processed_folder: str
    unreadable_folder: str
    poll_seconds: int
    batch_size: int


@dataclass(frozen=True)
class DocumentSettings:
    dir: Path
    max_size_mb: int

    @property
    def max_bytes(self) -> int:
        return self.max_size_mb * 1024 * 1024


@dataclass(frozen=True)
class ImportSettings:
    """How large a register file an import reads; it stops reading at the first cap."""

    max_size_mb: int
    #: Rows below the header (blank rows count: they are lines of the file too).
    max_rows: int
    #: Columns with a value in any row.
    max_columns: int

    @property
    def max_bytes(self) -> int:
        return self.max_size_mb * 1024 * 1024


@dataclass(frozen=True)
class VideoSettings:
    provider: str
    base_url: str
    #: Jitsi's app secret (signs room tokens) or BigBlueButton's shared secret (checksums).
    secret: str
    #: Rooms are named `<room_prefix><digest of the session's uid>`.
    room_prefix: str
    #: The Jitsi app id the tokens are issued for (their iss and aud).
    jitsi_app_id: str
    #: How often a live BigBlueButton session's participants are read.
    poll_seconds: int


@dataclass(frozen=True)
class SecuritySettings:
    secret_key: str
    session_max_age: int
    cookie_secure: bool
    login_max_failures: int
    login_max_failures_per_address: int
    login_window_minutes: int
    #: A login session unused this long ends (its cookie no longer signs anyone in).
    idle_minutes: int
    #: Requests under unknown site links from one address, within the window, after which
    #: that address's unknown links answer 429 (a valid link keeps working).
    site_link_max_failures_per_address: int
    site_link_window_minutes: int


@dataclass(frozen=True)
class AttendanceSettings:
    #: More delegates than this in one room is a typing mistake (422).
    max_delegates_per_site: int
    #: A site checking itself in this long after the start is marked late.
    late_after_minutes: int
    #: Events further than this from the session's start or end are refused (422).
    window_hours: int


@dataclass(frozen=True)
class SchedulerSettings:
    enabled: bool
    #: Offsets before the start, largest first.
    reminders: tuple[timedelta, ...]
    rsvp_chaser: timedelta | None
    #: A reminder or chaser due on a weekend or public holiday moves to the working day
    #: before it ("previous"), after it ("next"), or keeps its time ("keep").
    non_working_day: str
    rehearsal_minutes: int
    retry_interval_seconds: int
    #: A synchronous SQLAlchemy URL (APScheduler 3 cannot use the async drivers).
    jobstore_url: str


@dataclass(frozen=True)
class Settings:
    """The whole validated configuration; `var_dir` holds the service's own files."""

    server: ServerSettings
    database: DatabaseSettings
    organisation: OrganisationSettings
    mail: MailSettings
    inbound: InboundSettings
    documents: DocumentSettings
    video: VideoSettings
    security: SecuritySettings
    scheduler: SchedulerSettings
    attendance: AttendanceSettings
    imports: ImportSettings
    base_dir: Path
    source: str

    @property
    def var_dir(self) -> Path:
        return self.server.var_dir


def load_settings(
    path: Path | None = None,
    *,
    environ: dict[str, str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> Settings:
    """Layer defaults, file, environment and overrides, then validate everything."""
    environ = dict(os.environ if environ is None else environ)
    raw, base_dir, source = config.layered(path, environ, overrides)
    return _validate(raw, base_dir=base_dir, environ=environ, source=source)


def _validate(
    raw: dict[str, dict[str, Any]], *, base_dir: Path, environ: dict[str, str], source: str
) -> Settings:
    """Every section checked, in the order of the file, into one frozen object."""
    server = _server(raw, base_dir)
    database = DatabaseSettings(
        url=config.database_url(config.text(raw, "database", "url"), base_dir),
        echo=config.expect(raw, "database", "echo", bool),
    )
    return Settings(
        server=server,
        database=database,
        organisation=_organisation(raw),
        mail=_mail(raw, base_dir, environ),
        inbound=_inbound(raw, base_dir, environ),
        documents=DocumentSettings(
            dir=config.anchored(config.text(raw, "documents", "dir"), base_dir),
            max_size_mb=config.number(raw, "documents", "max_size_mb", 1, 1024),
        ),
        video=_video(raw, environ),
        security=_security(raw, base_dir, environ, server),
        scheduler=_scheduler(raw, database, server),
        attendance=AttendanceSettings(
            max_delegates_per_site=config.number(
                raw, "attendance", "max_delegates_per_site", 1, 100000
            ),
            late_after_minutes=config.number(raw, "attendance", "late_after_minutes", 0, 24 * 60),
            window_hours=config.number(raw, "attendance", "window_hours", 1, 24 * 30),
        ),
        imports=ImportSettings(
            max_size_mb=config.number(raw, "imports", "max_size_mb", 1, 1024),
            max_rows=config.number(raw, "imports", "max_rows", 1, 10**7),
            max_columns=config.number(raw, "imports", "max_columns", 8, 16384),
        ),
        base_dir=base_dir,
        source=source,
    )


def _server(raw: dict[str, dict[str, Any]], base_dir: Path) -> ServerSettings:
    """Links follow the server: an empty public_url is where it listens."""
    host = config.text(raw, "server", "host")
    port = config.number(raw, "server", "port", 0, 65535)
    public_url = config.url(raw, "server", "public_url", required=False)
    return ServerSettings(
        host=host,
        port=port,
        public_url=public_url or config.listening_url(host, port),
        public_url_is_set=bool(public_url),
        environment=config.choice(raw, "server", "environment", ("development", "production")),
        var_dir=config.anchored(config.text(raw, "server", "var_dir"), base_dir),
    )


def _organisation(raw: dict[str, dict[str, Any]]) -> OrganisationSettings:
    """Who issues the letters and minutes; its time zone must be one Python knows."""
    tz_name = config.text(raw, "organisation", "timezone")
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            "[organisation] timezone", f"unknown IANA time zone {tz_name!r}"
        ) from None
    return OrganisationSettings(
        name=config.text(raw, "organisation", "name"),
        governing_body=config.text(raw, "organisation", "governing_body", required=False),
        short_name=config.text(raw, "organisation", "short_name"),
        document_code=config.text(raw, "organisation", "document_code"),
        address=config.text(raw, "organisation", "address", required=False),
        hall=config.text(raw, "organisation", "hall"),
        city=config.text(raw, "organisation", "city"),
        timezone=tz_name,
        locale=config.choice(raw, "organisation", "locale", LOCALES),
        minutes_copies=config.number(raw, "organisation", "minutes_copies", 1, 99),
        signer_authority=config.text(raw, "organisation", "signer_authority", required=False),
        signer_title=config.text(raw, "organisation", "signer_title"),
        signer_name=config.text(raw, "organisation", "signer_name", required=False),
        contact_name=config.text(raw, "organisation", "contact_name", required=False),
        contact_phone=config.text(raw, "organisation", "contact_phone", required=False),
    )


def _mail(raw: dict[str, dict[str, Any]], base_dir: Path, environ: dict[str, str]) -> MailSettings:
    """How mail leaves; a user without a password would fail at the first message."""
    from_address = config.text(raw, "mail", "from_address")
    if "@" not in from_address or any(c in from_address for c in "\r\n <>,"):
        raise ConfigError("[mail] from_address", f"not an e-mail address: {from_address!r}")
    mode = config.choice(raw, "mail", "mode", ("drop", "smtp"))
    password_env = config.text(raw, "mail", "smtp_password_env", required=False)
    mail = MailSettings(
        mode=mode,
        drop_dir=config.anchored(config.text(raw, "mail", "drop_dir"), base_dir),
        from_address=from_address,
        from_name=config.text(raw, "mail", "from_name", required=False),
        smtp_host=config.text(raw, "mail", "smtp_host", required=mode == "smtp"),
        smtp_port=config.number(raw, "mail", "smtp_port", 1, 65535),
        smtp_tls=config.choice(raw, "mail", "smtp_tls", ("none", "starttls", "tls")),
        smtp_cafile=config.existing_file(raw, "mail", "smtp_cafile", base_dir),
        smtp_user=config.text(raw, "mail", "smtp_user", required=False),
        smtp_password=environ.get(password_env, "") if password_env else "",
        max_connections=config.number(raw, "mail", "max_connections", 1, 64),
        worker=config.expect(raw, "mail", "worker", bool),
        lease_seconds=config.number(raw, "mail", "lease_seconds", 2, 3600),
    )
    if mail.smtp_user and not mail.smtp_password:
        raise ConfigError(
            "[mail] smtp_password_env", f"smtp_user is set but ${password_env} is empty"
        )
    return mail


def _inbound(
    raw: dict[str, dict[str, Any]], base_dir: Path, environ: dict[str, str]
) -> InboundSettings:
    """The mailbox is checked only when it is on: off, its keys may stay empty."""
    enabled = config.expect(raw, "inbound", "enabled", bool)
    address = config.text(raw, "inbound", "address", required=enabled)
    if address and ("@" not in address or any(c in address for c in "\r\n <>,+")):
        raise ConfigError("[inbound] address", f"not a plain e-mail address: {address!r}")
    password_env = config.text(raw, "inbound", "imap_password_env", required=False)
    password = environ.get(password_env, "") if password_env else ""
    if enabled and not password:
        raise ConfigError("[inbound] imap_password_env", f"${password_env} is empty")
    return InboundSettings(
        enabled=enabled,
        address=address,
        imap_host=config.text(raw, "inbound", "imap_host", required=enabled),
        imap_port=config.number(raw, "inbound", "imap_port", 1, 65535),
        imap_tls=config.choice(raw, "inbound", "imap_tls", ("tls", "starttls")),
        imap_cafile=config.existing_file(raw, "inbound", "imap_cafile", base_dir),
        imap_user=config.text(raw, "inbound", "imap_user", required=enabled),
        imap_password=password,
        folder=config.text(raw, "inbound", "folder"),
        processed_folder=config.text(raw, "inbound", "processed_folder"),
        unreadable_folder=config.text(raw, "inbound", "unreadable_folder"),
        poll_seconds=config.number(raw, "inbound", "poll_seconds", 1, 3600),
        batch_size=config.number(raw, "inbound", "batch_size", 1, 10000),
    )


def _security(
    raw: dict[str, dict[str, Any]], base_dir: Path, environ: dict[str, str], server: ServerSettings
) -> SecuritySettings:
    return SecuritySettings(
        secret_key=config.secret_key(
            raw, base_dir=base_dir, environ=environ, is_development=server.is_development
        ),
        session_max_age=config.number(raw, "security", "session_max_age", 60, 31 * 86400),
        cookie_secure=config.expect(raw, "security", "cookie_secure", bool),
        login_max_failures=config.number(raw, "security", "login_max_failures", 1, 1000),
        login_max_failures_per_address=config.number(
            raw, "security", "login_max_failures_per_address", 1, 100000
        ),
        login_window_minutes=config.number(raw, "security", "login_window_minutes", 1, 24 * 60),
        idle_minutes=config.number(raw, "security", "idle_minutes", 1, 31 * 24 * 60),
        site_link_max_failures_per_address=config.number(
            raw, "security", "site_link_max_failures_per_address", 1, 100000
        ),
        site_link_window_minutes=config.number(
            raw, "security", "site_link_window_minutes", 1, 24 * 60
        ),
    )


def _scheduler(
    raw: dict[str, dict[str, Any]], database: DatabaseSettings, server: ServerSettings
) -> SchedulerSettings:
    """The reminder offsets largest first; the job store beside the service's data."""
    reminders = config.text(raw, "scheduler", "reminders", required=False)
    chaser = config.text(raw, "scheduler", "rsvp_chaser", required=False)
    return SchedulerSettings(
        enabled=config.expect(raw, "scheduler", "enabled", bool),
        reminders=tuple(
            sorted(
                (
                    config.duration("[scheduler] reminders", part)
                    for part in reminders.split(",")
                    if part.strip()
                ),
                reverse=True,
            )
        ),
        rsvp_chaser=config.duration("[scheduler] rsvp_chaser", chaser) if chaser else None,
        non_working_day=config.choice(
            raw, "scheduler", "non_working_day", ("previous", "next", "keep")
        ),
        rehearsal_minutes=config.number(raw, "scheduler", "rehearsal_minutes", 0, 24 * 60),
        retry_interval_seconds=config.number(raw, "scheduler", "retry_interval_seconds", 1, 86400),
        jobstore_url=config.text(raw, "scheduler", "jobstore_url", required=False)
        or config.default_jobstore(database.url, server.var_dir),
    )


def _video(raw: dict[str, dict[str, Any]], environ: dict[str, str]) -> VideoSettings:
    """The video platform; a secret without its counterpart would give links that fail."""
    provider = config.choice(raw, "video", "provider", ("none", "jitsi", "bigbluebutton"))
    secret_env = config.text(raw, "video", "secret_env", required=False)
    room_prefix = config.text(raw, "video", "room_prefix", required=False)
    if not re.fullmatch(r"[a-z0-9-]{0,40}", room_prefix):
        raise ConfigError(
            "[video] room_prefix", f"lower-case letters, digits and '-' only; got {room_prefix!r}"
        )
    video = VideoSettings(
        provider=provider,
        base_url=config.url(raw, "video", "base_url", required=provider != "none"),
        secret=environ.get(secret_env, "").strip() if secret_env else "",
        room_prefix=room_prefix,
        jitsi_app_id=config.text(raw, "video", "jitsi_app_id", required=False),
        poll_seconds=config.number(raw, "video", "poll_seconds", 5, 3600),
    )
    if provider == "bigbluebutton" and not video.secret:
        raise ConfigError(
            "[video] secret_env", f"BigBlueButton needs its shared secret in ${secret_env}"
        )
    if provider == "jitsi" and bool(video.secret) != bool(video.jitsi_app_id):
        key = "[video] jitsi_app_id" if video.secret else "[video] secret_env"
        raise ConfigError(key, "Jitsi tokens need both the app id and the app secret")
    return video
