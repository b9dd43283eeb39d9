"""Configuration: defaults, then a TOML file, then the environment, then overrides.

Everything is validated once, at start-up, into a frozen object; a bad value raises
`ConfigError` naming the key, which the CLI prints as one line instead of a traceback.
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "GIAOBAN__"
CONFIG_ENV = "GIAOBAN_CONFIG"
LOCALES = ("vi", "en")

#: The embedded defaults. `config.toml` at the repository root documents the same values
#: (a test keeps the two equal), so the service runs with or without that file.
DEFAULTS: dict[str, dict[str, Any]] = {
    "server": {
        "host": "127.0.0.1",
        "port": 8080,
        "public_url": "http://127.0.0.1:8080",
        "environment": "development",
        "var_dir": "var",
    },
    "database": {
        "url": "sqlite+aiosqlite:///var/giaoban.sqlite3",
        "echo": False,
    },
    "organisation": {
        "name": "Liên hiệp các tổ chức hữu nghị Việt Nam",
        "governing_body": "",
        "short_name": "VUFO",
        "document_code": "LHHN",
        "address": "Hà Nội",
        "hall": "Hội trường Liên hiệp các tổ chức hữu nghị Việt Nam",
        "city": "Hà Nội",
        "timezone": "Asia/Ho_Chi_Minh",
        "locale": "vi",
        "signer_authority": "TL. CHỦ TỊCH",
        "signer_title": "CHÁNH VĂN PHÒNG",
        "signer_name": "",
    },
    "mail": {
        "mode": "drop",
        "drop_dir": "var/maildrop",
        "from_address": "giaoban@example.org",
        "from_name": "Giao ban trực tuyến",
        "smtp_host": "127.0.0.1",
        "smtp_port": 25,
        "smtp_tls": "none",
        "smtp_cafile": "",
        "smtp_user": "",
        "smtp_password_env": "GIAOBAN_SMTP_PASSWORD",
        "max_connections": 4,
        "worker": True,
        "stale_after_seconds": 600,
    },
    "documents": {
        "dir": "var/documents",
        "max_size_mb": 25,
    },
    "video": {
        "provider": "none",
        "base_url": "",
        "secret_env": "GIAOBAN_VIDEO_SECRET",
        "room_prefix": "giaoban-",
        "jitsi_app_id": "",
        "poll_seconds": 30,
    },
    "security": {
        "secret_key_env": "GIAOBAN_SECRET_KEY",
        "secret_key_file": "var/secret_key",
        "session_max_age": 43200,
        "cookie_secure": False,
        "login_max_failures": 5,
        "login_max_failures_per_address": 30,
        "login_window_minutes": 15,
    },
    "attendance": {
        "max_delegates_per_site": 500,
        "late_after_minutes": 15,
        "window_hours": 24,
    },
    "scheduler": {
        "enabled": True,
        "reminders": "1d, 1h",
        "rsvp_chaser": "3d",
        "rehearsal_minutes": 30,
        "retry_interval_seconds": 60,
        "jobstore_url": "",
    },
}


class ConfigError(Exception):
    """A configuration value is missing or wrong; the message names the key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    public_url: str
    environment: str
    #: The service's own working files (uploads awaiting confirmation, generated files).
    var_dir: Path

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
    #: Who signs letters (giấy mời): the authority line ("TL. CHỦ TỊCH", "" for none),
    #: the position, and the full name ("" leaves the name to be written by hand).
    signer_authority: str
    signer_title: str
    signer_name: str


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
    #: A row claimed longer ago than this was left by a killed process: send it again.
    stale_after_seconds: int


@dataclass(frozen=True)
class DocumentSettings:
    dir: Path
    max_size_mb: int

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
    documents: DocumentSettings
    video: VideoSettings
    security: SecuritySettings
    scheduler: SchedulerSettings
    attendance: AttendanceSettings
    base_dir: Path
    source: str

    @property
    def var_dir(self) -> Path:
        return self.server.var_dir


def default_config_path() -> Path | None:
    """The file used without --config: $GIAOBAN_CONFIG, else ./config.toml if present."""
    if env := os.environ.get(CONFIG_ENV):
        return Path(env)
    candidate = Path.cwd() / "config.toml"
    return candidate if candidate.is_file() else None


def load_settings(
    path: Path | None = None,
    *,
    environ: dict[str, str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> Settings:
    """Layer defaults, file, environment and overrides, then validate everything."""
    environ = dict(os.environ if environ is None else environ)
    raw = {section: dict(values) for section, values in DEFAULTS.items()}
    base_dir = Path.cwd()
    source = "built-in defaults"
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError("--config", f"no such file: {path}")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(str(path), f"not valid TOML: {exc}") from None
        _merge(raw, data, origin=str(path))
        base_dir = path.resolve().parent
        source = str(path)
    _merge(raw, _from_environ(environ), origin="environment")
    if overrides:
        _merge(raw, overrides, origin="overrides")
    return _validate(raw, base_dir=base_dir, environ=environ, source=source)


def _from_environ(environ: dict[str, str]) -> dict[str, dict[str, Any]]:
    """GIAOBAN__SECTION__KEY=value, coerced to the type of the default."""
    found: dict[str, dict[str, Any]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) != 2:
            raise ConfigError(name, "expected GIAOBAN__SECTION__KEY")
        section, key = parts
        default = DEFAULTS.get(section, {}).get(key)
        found.setdefault(section, {})[key] = _coerce_env(name, value, default)
    return found


def _coerce_env(name: str, value: str, default: Any) -> Any:
    if isinstance(default, bool):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(name, f"expected true or false, got {value!r}")
    if isinstance(default, int):
        try:
            return int(value)
        except ValueError:
            raise ConfigError(name, f"expected a whole number, got {value!r}") from None
    return value


def _merge(raw: dict[str, dict[str, Any]], data: dict[str, Any], *, origin: str) -> None:
    for section, values in data.items():
        if section not in DEFAULTS:
            raise ConfigError(f"[{section}]", f"unknown section (in {origin})")
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}]", f"must be a table (in {origin})")
        for key, value in values.items():
            if key not in DEFAULTS[section]:
                raise ConfigError(f"[{section}] {key}", f"unknown key (in {origin})")
            raw[section][key] = value


def _expect(raw: dict[str, dict[str, Any]], section: str, key: str, kind: type) -> Any:
    value = raw[section][key]
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise ConfigError(f"[{section}] {key}", f"expected {kind.__name__}, got {value!r}")
    return value


def _text(raw: dict[str, dict[str, Any]], section: str, key: str, *, required: bool = True) -> str:
    value: str = _expect(raw, section, key, str).strip()
    if required and not value:
        raise ConfigError(f"[{section}] {key}", "must not be empty")
    return value


def _choice(
    raw: dict[str, dict[str, Any]], section: str, key: str, choices: tuple[str, ...]
) -> str:
    value = _text(raw, section, key)
    if value not in choices:
        raise ConfigError(
            f"[{section}] {key}", f"must be one of {', '.join(choices)}; got {value!r}"
        )
    return value


def _number(raw: dict[str, dict[str, Any]], section: str, key: str, low: int, high: int) -> int:
    value: int = _expect(raw, section, key, int)
    if not low <= value <= high:
        raise ConfigError(f"[{section}] {key}", f"must be between {low} and {high}; got {value}")
    return value


def _url(raw: dict[str, dict[str, Any]], section: str, key: str, *, required: bool = True) -> str:
    value = _text(raw, section, key, required=required)
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"[{section}] {key}", f"must be an http(s) URL; got {value!r}")
    return value.rstrip("/")


def _validate(
    raw: dict[str, dict[str, Any]], *, base_dir: Path, environ: dict[str, str], source: str
) -> Settings:
    server = ServerSettings(
        host=_text(raw, "server", "host"),
        port=_number(raw, "server", "port", 0, 65535),
        public_url=_url(raw, "server", "public_url"),
        environment=_choice(raw, "server", "environment", ("development", "production")),
        var_dir=_path(_text(raw, "server", "var_dir"), base_dir),
    )
    database = DatabaseSettings(
        url=_database_url(_text(raw, "database", "url"), base_dir),
        echo=_expect(raw, "database", "echo", bool),
    )
    tz_name = _text(raw, "organisation", "timezone")
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            "[organisation] timezone", f"unknown IANA time zone {tz_name!r}"
        ) from None
    organisation = OrganisationSettings(
        name=_text(raw, "organisation", "name"),
        governing_body=_text(raw, "organisation", "governing_body", required=False),
        short_name=_text(raw, "organisation", "short_name"),
        document_code=_text(raw, "organisation", "document_code"),
        address=_text(raw, "organisation", "address", required=False),
        hall=_text(raw, "organisation", "hall"),
        city=_text(raw, "organisation", "city"),
        timezone=tz_name,
        locale=_choice(raw, "organisation", "locale", LOCALES),
        signer_authority=_text(raw, "organisation", "signer_authority", required=False),
        signer_title=_text(raw, "organisation", "signer_title"),
        signer_name=_text(raw, "organisation", "signer_name", required=False),
    )
    from_address = _text(raw, "mail", "from_address")
    if "@" not in from_address or any(c in from_address for c in "\r\n <>,"):
        raise ConfigError("[mail] from_address", f"not an e-mail address: {from_address!r}")
    mode = _choice(raw, "mail", "mode", ("drop", "smtp"))
    password_env = _text(raw, "mail", "smtp_password_env", required=False)
    mail = MailSettings(
        mode=mode,
        drop_dir=_path(_text(raw, "mail", "drop_dir"), base_dir),
        from_address=from_address,
        from_name=_text(raw, "mail", "from_name", required=False),
        smtp_host=_text(raw, "mail", "smtp_host", required=mode == "smtp"),
        smtp_port=_number(raw, "mail", "smtp_port", 1, 65535),
        smtp_tls=_choice(raw, "mail", "smtp_tls", ("none", "starttls", "tls")),
        smtp_cafile=_existing_file(raw, "mail", "smtp_cafile", base_dir),
        smtp_user=_text(raw, "mail", "smtp_user", required=False),
        smtp_password=environ.get(password_env, "") if password_env else "",
        max_connections=_number(raw, "mail", "max_connections", 1, 64),
        worker=_expect(raw, "mail", "worker", bool),
        stale_after_seconds=_number(raw, "mail", "stale_after_seconds", 1, 86400),
    )
    if mail.smtp_user and not mail.smtp_password:
        raise ConfigError(
            "[mail] smtp_password_env", f"smtp_user is set but ${password_env} is empty"
        )
    documents = DocumentSettings(
        dir=_path(_text(raw, "documents", "dir"), base_dir),
        max_size_mb=_number(raw, "documents", "max_size_mb", 1, 1024),
    )
    video = _video(raw, environ)
    security = SecuritySettings(
        secret_key=_secret_key(raw, base_dir=base_dir, environ=environ, server=server),
        session_max_age=_number(raw, "security", "session_max_age", 60, 31 * 86400),
        cookie_secure=_expect(raw, "security", "cookie_secure", bool),
        login_max_failures=_number(raw, "security", "login_max_failures", 1, 1000),
        login_max_failures_per_address=_number(
            raw, "security", "login_max_failures_per_address", 1, 100000
        ),
        login_window_minutes=_number(raw, "security", "login_window_minutes", 1, 24 * 60),
    )
    return Settings(
        server=server,
        database=database,
        organisation=organisation,
        mail=mail,
        documents=documents,
        video=video,
        security=security,
        scheduler=SchedulerSettings(
            enabled=_expect(raw, "scheduler", "enabled", bool),
            reminders=tuple(
                sorted(
                    (
                        _duration("[scheduler] reminders", part)
                        for part in _text(raw, "scheduler", "reminders", required=False).split(",")
                        if part.strip()
                    ),
                    reverse=True,
                )
            ),
            rsvp_chaser=_duration(
                "[scheduler] rsvp_chaser", _text(raw, "scheduler", "rsvp_chaser", required=False)
            )
            if _text(raw, "scheduler", "rsvp_chaser", required=False)
            else None,
            rehearsal_minutes=_number(raw, "scheduler", "rehearsal_minutes", 0, 24 * 60),
            retry_interval_seconds=_number(raw, "scheduler", "retry_interval_seconds", 1, 86400),
            jobstore_url=_text(raw, "scheduler", "jobstore_url", required=False)
            or default_jobstore(database.url, server.var_dir),
        ),
        attendance=AttendanceSettings(
            max_delegates_per_site=_number(raw, "attendance", "max_delegates_per_site", 1, 100000),
            late_after_minutes=_number(raw, "attendance", "late_after_minutes", 0, 24 * 60),
            window_hours=_number(raw, "attendance", "window_hours", 1, 24 * 30),
        ),
        base_dir=base_dir,
        source=source,
    )


def _video(raw: dict[str, dict[str, Any]], environ: dict[str, str]) -> VideoSettings:
    """The video platform; a secret without its counterpart would give links that fail."""
    provider = _choice(raw, "video", "provider", ("none", "jitsi", "bigbluebutton"))
    secret_env = _text(raw, "video", "secret_env", required=False)
    room_prefix = _text(raw, "video", "room_prefix", required=False)
    if not re.fullmatch(r"[a-z0-9-]{0,40}", room_prefix):
        raise ConfigError(
            "[video] room_prefix", f"lower-case letters, digits and '-' only; got {room_prefix!r}"
        )
    video = VideoSettings(
        provider=provider,
        base_url=_url(raw, "video", "base_url", required=provider != "none"),
        secret=environ.get(secret_env, "").strip() if secret_env else "",
        room_prefix=room_prefix,
        jitsi_app_id=_text(raw, "video", "jitsi_app_id", required=False),
        poll_seconds=_number(raw, "video", "poll_seconds", 5, 3600),
    )
    if provider == "bigbluebutton" and not video.secret:
        raise ConfigError(
            "[video] secret_env", f"BigBlueButton needs its shared secret in ${secret_env}"
        )
    if provider == "jitsi" and bool(video.secret) != bool(video.jitsi_app_id):
        key = "[video] jitsi_app_id" if video.secret else "[video] secret_env"
        raise ConfigError(key, "Jitsi tokens need both the app id and the app secret")
    return video


_DURATION = re.compile(r"(\d+)\s*([dhms])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def _duration(key: str, text: str) -> timedelta:
    """ "1d", "1h", "30m", "1h30m", "45s" → a positive timedelta; anything else names key."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ConfigError(key, f"expected a duration such as 1d, 1h, 30m or 1h30m; got {text!r}")
    value = timedelta()
    for number, unit in parts:
        value += timedelta(**{_UNITS[unit]: int(number)})
    if value <= timedelta(0):
        raise ConfigError(key, f"must be longer than zero; got {text!r}")
    return value


def default_jobstore(database_url: str, var_dir: Path) -> str:
    """PostgreSQL: the service's own database. SQLite: a file of its own beside var/.
    APScheduler 3 reads and writes its store synchronously on the event loop; sharing
    SQLite's one writer lock with the async connections could block the loop on a lock
    whose holder needs the loop to let go (seen: "database is locked" at start-up)."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{var_dir / 'scheduler-jobs.sqlite3'}"
    return sync_url(database_url)


def sync_url(url: str) -> str:
    """The same database through a synchronous driver (for APScheduler's job store)."""
    for async_prefix, sync_prefix in (
        ("sqlite+aiosqlite:", "sqlite:"),
        ("postgresql+asyncpg:", "postgresql+psycopg:"),
    ):
        if url.startswith(async_prefix):
            return sync_prefix + url[len(async_prefix) :]
    return url


def _existing_file(
    raw: dict[str, dict[str, Any]], section: str, key: str, base_dir: Path
) -> Path | None:
    """An optional file that must be there when named (so a typo stops start-up)."""
    value = _text(raw, section, key, required=False)
    if not value:
        return None
    path = _path(value, base_dir)
    if not path.is_file():
        raise ConfigError(f"[{section}] {key}", f"no such file: {path}")
    return path


def _path(value: str, base_dir: Path) -> Path:
    path = Path(value)
    return path if path.is_absolute() else base_dir / path


def _database_url(url: str, base_dir: Path) -> str:
    """Accept the two supported drivers and anchor a relative SQLite file at base_dir."""
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix):
        file_part = url[len(prefix) :]
        if file_part and file_part != ":memory:" and not file_part.startswith("/"):
            return prefix + str(base_dir / file_part)
        return url
    if url.startswith("postgresql+asyncpg://"):
        return url
    raise ConfigError(
        "[database] url",
        f"must start with sqlite+aiosqlite:/// or postgresql+asyncpg://; got {url!r}",
    )


def _secret_key(
    raw: dict[str, dict[str, Any]],
    *,
    base_dir: Path,
    environ: dict[str, str],
    server: ServerSettings,
) -> str:
    """The cookie-signing key: from the environment, or generated once in development."""
    env_name = _text(raw, "security", "secret_key_env")
    key = environ.get(env_name, "").strip()
    if key:
        if len(key) < 32:
            raise ConfigError(f"${env_name}", "secret key must be at least 32 characters")
        if key.lower() in ("changeme", "secret", "change-me") or len(set(key)) < 8:
            raise ConfigError(f"${env_name}", "secret key looks like a placeholder")
        return key
    if not server.is_development:
        raise ConfigError(
            f"${env_name}", "required in production ([security] secret_key_env names it)"
        )
    key_file = _path(_text(raw, "security", "secret_key_file"), base_dir)
    if key_file.is_file():
        stored = key_file.read_text(encoding="utf-8").strip()
        if len(stored) >= 32:
            return stored
    key_file.parent.mkdir(parents=True, exist_ok=True)
    stored = secrets.token_urlsafe(48)
    key_file.write_text(stored + "\n", encoding="utf-8")
    key_file.chmod(0o600)
    return stored
