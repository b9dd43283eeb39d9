"""Configuration: documented defaults, layering, and one clear line for every bad value."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from meetings.core.config import DEFAULTS, ConfigError
from meetings.core.settings import load_settings

ROOT = Path(__file__).resolve().parents[3]
SECRET = {"GIAOBAN_SECRET_KEY": "a-long-enough-secret-for-tests-0123456789"}


def test_config_toml_documents_exactly_the_defaults():
    documented = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    assert documented == DEFAULTS


def test_defaults_run_as_is_on_a_laptop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, environ={})
    assert settings.database.url == f"sqlite+aiosqlite:///{tmp_path}/var/giaoban.sqlite3"
    assert settings.mail.mode == "drop"
    assert settings.organisation.timezone == "Asia/Ho_Chi_Minh"
    assert settings.organisation.locale == "vi"
    # In development a secret key is generated once and then reused.
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.is_file()
    assert load_settings(None, environ={}).security.secret_key == settings.security.secret_key


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_then_environment_then_overrides(tmp_path: Path):
    path = write(tmp_path, '[server]\nport = 9000\n[organisation]\nlocale = "en"\n')
    settings = load_settings(path, environ={**SECRET, "GIAOBAN__SERVER__PORT": "9100"})
    assert settings.server.port == 9100
    assert settings.organisation.locale == "en"
    settings = load_settings(path, environ=SECRET, overrides={"server": {"port": 9200}})
    assert settings.server.port == 9200


def test_relative_paths_are_anchored_at_the_config_file(tmp_path: Path):
    path = write(tmp_path, '[mail]\ndrop_dir = "out/mail"\n')
    assert load_settings(path, environ=SECRET).mail.drop_dir == tmp_path / "out" / "mail"


@pytest.mark.parametrize(
    ("text", "environ", "key"),
    [
        ('[server]\nport = "eighty"\n', {}, "[server] port"),
        ("[server]\nport = 70000\n", {}, "[server] port"),
        ("[server]\nprot = 80\n", {}, "[server] prot"),
        ("[nonsense]\nx = 1\n", {}, "[nonsense]"),
        ('[organisation]\ntimezone = "Asia/Hanoi_City"\n', {}, "[organisation] timezone"),
        ('[organisation]\nlocale = "fr"\n', {}, "[organisation] locale"),
        ('[database]\nurl = "mysql://x"\n', {}, "[database] url"),
        ('[mail]\nmode = "pigeon"\n', {}, "[mail] mode"),
        ('[mail]\nfrom_address = "nobody"\n', {}, "[mail] from_address"),
        ('[mail]\nsmtp_user = "u"\n', {}, "[mail] smtp_password_env"),
        ('[server]\npublic_url = "localhost:8080"\n', {}, "[server] public_url"),
        (
            '[server]\nenvironment = "production"\n',
            {"GIAOBAN_SECRET_KEY": ""},
            "$GIAOBAN_SECRET_KEY",
        ),
        ("", {"GIAOBAN_SECRET_KEY": "x" * 40}, "$GIAOBAN_SECRET_KEY"),
        ("", {"GIAOBAN__SERVER__PORT": "many"}, "GIAOBAN__SERVER__PORT"),
        ("[server\n", {}, "config.toml"),
    ],
)
def test_a_bad_value_names_its_key(tmp_path: Path, text: str, environ: dict, key: str):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={**SECRET, **environ})
    assert key in str(caught.value)


def test_the_command_prints_one_line_not_a_traceback(tmp_path: Path):
    path = write(tmp_path, '[organisation]\ntimezone = "Mars/Olympus"\n')
    result = subprocess.run(
        [sys.executable, "-m", "meetings.core.cli", "--config", str(path), "users", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "giaoban: configuration error: [organisation] timezone: "
        "unknown IANA time zone 'Mars/Olympus'"
    ]


def test_a_missing_config_file_is_named(tmp_path: Path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "meetings.core.cli",
            "--config",
            str(tmp_path / "nope.toml"),
            "demo",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "no such file" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("text", "environ"),
    [
        ("[mail]\nstale_after_seconds = 600\n", {}),
        ("", {"GIAOBAN__MAIL__STALE_AFTER_SECONDS": "600"}),
    ],
)
def test_the_retired_stale_window_stops_start_up_naming_the_lease(
    tmp_path: Path, text: str, environ: dict
):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match="replaced by \\[mail\\] lease_seconds") as caught:
        load_settings(path, environ={**SECRET, **environ})
    assert caught.value.key == "[mail] stale_after_seconds"


def test_the_lease_is_configured_in_seconds_and_kept_above_a_heartbeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    assert load_settings(None, environ=SECRET).mail.lease_seconds == 20
    path = write(tmp_path, "[mail]\nlease_seconds = 5\n")
    assert load_settings(path, environ=SECRET).mail.lease_seconds == 5
    with pytest.raises(ConfigError, match="lease_seconds"):
        load_settings(write(tmp_path, "[mail]\nlease_seconds = 1\n"), environ=SECRET)
