"""The raw configuration, layered, and the checks that make each value typed or name its key."""

from __future__ import annotations

import os
import re
import secrets
import socket
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENV_PREFIX = "GIAOBAN__"
CONFIG_ENV = "GIAOBAN_CONFIG"

#: The embedded defaults. `config.toml` at the repository root documents the same values
#: (a test keeps the two equal), so the service runs with or without that file.
DEFAULTS: dict[str, dict[str, Any]] = {
    "server": {
        "host": "127.0.0.1",
        "port": 8080,
        "public_url": "",
        "environment": "development",
        "var_dir": "var",
        "log_format": "text",
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
        "minutes_copies": 2,
        "signer_authority": "TL. CHỦ TỊCH",
        "signer_title": "CHÁNH VĂN PHÒNG",
        "signer_name": "",
        "contact_name": "Nguyễn Thị Thu Hà, Văn phòng Liên hiệp",
        "contact_phone": "024 3822 0000",
    },
    "office": {"units": []},
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
        "lease_seconds": 20,
    },
    "inbound": {
        "enabled": False,
        "address": "",
        "imap_host": "",
        "imap_port": 993,
        "imap_tls": "tls",
        "imap_cafile": "",
        "imap_user": "",
        "imap_password_env": "GIAOBAN_IMAP_PASSWORD",
        "folder": "INBOX",
        "processed_folder": "giaoban-processed",
        "unreadable_folder": "giaoban-unreadable",
        "poll_seconds": 60,
        "batch_size": 500,
    },
    "documents": {
        "dir": "var/documents",
        "max_size_mb": 25,
    },
    "imports": {
        "max_size_mb": 10,
        "max_rows": 20000,
        "max_columns": 300,
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
        "idle_minutes": 120,
        "site_link_max_failures_per_address": 30,
        "site_link_window_minutes": 15,
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
        "non_working_day": "previous",
        "rehearsal_minutes": 30,
        "retry_interval_seconds": 60,
        "jobstore_url": "",
        "chase_interval_minutes": 60,
        "chase_hour": 8,
        "chase_every_working_days": 5,
    },
}


#: Keys that are gone, and what to do instead: start-up names the replacement.
RETIRED: dict[tuple[str, str], str] = {
    ("mail", "stale_after_seconds"): (
        "replaced by [mail] lease_seconds (a delivering worker now renews its claims, so a "
        "dead worker's messages go on one lease later, not after a fixed window): remove it"
    ),
}


class ConfigError(Exception):
    """A configuration value is missing or wrong; the message names the key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


def default_config_path() -> Path | None:
    """The file used without --config: $GIAOBAN_CONFIG, else ./config.toml if present."""
    if env := os.environ.get(CONFIG_ENV):
        return Path(env)
    candidate = Path.cwd() / "config.toml"
    return candidate if candidate.is_file() else None


def layered(
    path: Path | None, environ: dict[str, str], overrides: dict[str, dict[str, Any]] | None
) -> tuple[dict[str, dict[str, Any]], Path, str]:
    """Defaults, then the file, then the environment, then overrides: the raw values, the
    directory relative paths start from, and where the configuration came from."""
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
    return raw, base_dir, source


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
                reason = RETIRED.get((section, key), "unknown key")
                raise ConfigError(f"[{section}] {key}", f"{reason} (in {origin})")
            raw[section][key] = value


def expect(raw: dict[str, dict[str, Any]], section: str, key: str, kind: type) -> Any:
    value = raw[section][key]
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise ConfigError(f"[{section}] {key}", f"expected {kind.__name__}, got {value!r}")
    return value


def text(raw: dict[str, dict[str, Any]], section: str, key: str, *, required: bool = True) -> str:
    value: str = expect(raw, section, key, str).strip()
    if required and not value:
        raise ConfigError(f"[{section}] {key}", "must not be empty")
    return value


def choice(raw: dict[str, dict[str, Any]], section: str, key: str, choices: tuple[str, ...]) -> str:
    value = text(raw, section, key)
    if value not in choices:
        raise ConfigError(
            f"[{section}] {key}", f"must be one of {', '.join(choices)}; got {value!r}"
        )
    return value


def number(raw: dict[str, dict[str, Any]], section: str, key: str, low: int, high: int) -> int:
    value: int = expect(raw, section, key, int)
    if not low <= value <= high:
        raise ConfigError(f"[{section}] {key}", f"must be between {low} and {high}; got {value}")
    return value


def url(raw: dict[str, dict[str, Any]], section: str, key: str, *, required: bool = True) -> str:
    value = text(raw, section, key, required=required)
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"[{section}] {key}", f"must be an http(s) URL; got {value!r}")
    return value.rstrip("/")


#: Hosts that mean "every interface": no one can follow a link to them.
WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # noqa: S104 (recognised, never bound)


def listening_url(host: str, port: int) -> str:
    """The address of a server listening on `host`:`port`, for links when [server]
    public_url is empty; on every interface (0.0.0.0, ::), this machine's name."""
    name = socket.getfqdn() if host in WILDCARD_HOSTS else host
    if ":" in name:  # an IPv6 address
        name = f"[{name}]"
    return f"http://{name}" if port == 80 else f"http://{name}:{port}"


_DURATION = re.compile(r"(\d+)\s*([dhms])")

_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def duration(key: str, text: str) -> timedelta:
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


def existing_file(
    raw: dict[str, dict[str, Any]], section: str, key: str, base_dir: Path
) -> Path | None:
    """An optional file that must be there when named (so a typo stops start-up)."""
    value = text(raw, section, key, required=False)
    if not value:
        return None
    path = anchored(value, base_dir)
    if not path.is_file():
        raise ConfigError(f"[{section}] {key}", f"no such file: {path}")
    return path


def anchored(value: str, base_dir: Path) -> Path:
    path = Path(value)
    return path if path.is_absolute() else base_dir / path


def database_url(url: str, base_dir: Path) -> str:
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


def secret_key(
    raw: dict[str, dict[str, Any]],
    *,
    base_dir: Path,
    environ: dict[str, str],
    is_development: bool,
) -> str:
    """The cookie-signing key: from the environment, or generated once in development."""
    env_name = text(raw, "security", "secret_key_env")
    key = environ.get(env_name, "").strip()
    if key:
        if len(key) < 32:
            raise ConfigError(f"${env_name}", "secret key must be at least 32 characters")
        if key.lower() in ("changeme", "secret", "change-me") or len(set(key)) < 8:
            raise ConfigError(f"${env_name}", "secret key looks like a placeholder")
        return key
    if not is_development:
        raise ConfigError(
            f"${env_name}", "required in production ([security] secret_key_env names it)"
        )
    key_file = anchored(text(raw, "security", "secret_key_file"), base_dir)
    if key_file.is_file():
        stored = key_file.read_text(encoding="utf-8").strip()
        if len(stored) >= 32:
            return stored
    key_file.parent.mkdir(parents=True, exist_ok=True)
    stored = secrets.token_urlsafe(48)
    key_file.write_text(stored + "\n", encoding="utf-8")
    key_file.chmod(0o600)
    return stored


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
