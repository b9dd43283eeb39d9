"""The mail settings: how mail leaves ([mail]) and the mailbox that hears the sites
([inbound]), validated into frozen objects for `meetings.core.settings.Settings`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meetings.core import config
from meetings.core.config import ConfigError


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


def mail_settings(
    raw: dict[str, dict[str, Any]], base_dir: Path, environ: dict[str, str]
) -> MailSettings:
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


def inbound_settings(
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
