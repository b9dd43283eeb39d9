"""The reference deployment (deploy/) says only what the service understands: its
environment file loads as settings, for several instances on PostgreSQL, and nginx lets
the live boards' events through as they come."""

from __future__ import annotations

import re
from pathlib import Path

from meetings.core.settings import load_settings

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def environment() -> dict[str, str]:
    lines = (DEPLOY / "giaoban.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_environment_file_is_a_production_setup_on_postgresql():
    variables = environment()
    # A real secret replaces the placeholder (the service refuses placeholders).
    assert "CHANGE" in variables["GIAOBAN_SECRET_KEY"]
    variables["GIAOBAN_SECRET_KEY"] = "k3y-" + "x7Qm" * 16
    settings = load_settings(None, environ=variables)
    assert settings.database.url.startswith("postgresql+asyncpg://")
    assert settings.server.environment == "production" and settings.server.log_format == "json"
    assert settings.server.public_url_is_https and settings.security.cookie_secure
    assert settings.scheduler.enabled and settings.mail.mode == "smtp"


def test_every_instance_nginx_sends_to_is_a_unit_and_the_boards_are_not_buffered():
    nginx = (DEPLOY / "nginx.conf").read_text()
    ports = re.findall(r"server 127\.0\.0\.1:(\d+)", nginx)
    assert len(ports) >= 2
    unit = (DEPLOY / "systemd" / "giaoban@.service").read_text()
    assert "GIAOBAN__SERVER__PORT=%i" in unit and "Requires=giaoban-migrate.service" in unit
    live = re.search(r"location ~ \^/api/v1/meetings/\[0-9\]\+/live\$ \{(.*?)\}", nginx, re.S)
    assert live is not None
    assert "proxy_buffering off;" in live.group(1) and "proxy_read_timeout 1h;" in live.group(1)
    assert re.search(r"location = /metrics \{\s*deny all;", nginx)
