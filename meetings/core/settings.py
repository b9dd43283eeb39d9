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
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from meetings.core import config
from meetings.core.config import ConfigError
from meetings.core.mail_settings import (
    InboundSettings,
    MailSettings,
    inbound_settings,
    mail_settings,
)
from meetings.core.office_settings import OfficeSettings, office_settings

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
    #: "text" or "json" (meetings.core.logs).
    log_format: str = "text"

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @cached_property
    def public_url_is_https(self) -> bool:
        """A proxy terminates TLS in front of us (every response asks: worked out once)."""
        return self.public_url.lower().startswith("https://")


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
    #: Overdue action items: how often they are looked at, from which local hour of a
    #: working day their owners are mailed, and how many working days between two mails.
    chase_interval_minutes: int = 60
    chase_hour: int = 8
    chase_every_working_days: int = 5


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
    office: OfficeSettings = OfficeSettings()

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
        mail=mail_settings(raw, base_dir, environ),
        inbound=inbound_settings(raw, base_dir, environ),
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
        office=office_settings(raw),
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
        log_format=config.choice(raw, "server", "log_format", ("text", "json")),
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
        chase_interval_minutes=config.number(
            raw, "scheduler", "chase_interval_minutes", 1, 24 * 60
        ),
        chase_hour=config.number(raw, "scheduler", "chase_hour", 0, 23),
        chase_every_working_days=config.number(
            raw, "scheduler", "chase_every_working_days", 1, 250
        ),
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
