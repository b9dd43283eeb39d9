"""Links follow the server: an empty `[server] public_url` is where `serve` listens (its
--host and --port included), and a set one that answers nothing is warned about at
start-up, once the server is up, without holding start-up back."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.core.cli import run_with_session
from meetings.core.settings import load_settings
from meetings.register.models import ContactIn
from tests.conftest import make_settings
from tests.factories import make_site, make_user

TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_public_url_defaults_to_where_the_server_listens(tmp_path: Path, sqlite_url: str):
    settings = make_settings(tmp_path, sqlite_url, server={"port": 9123})
    assert settings.server.public_url == "http://127.0.0.1:9123"
    assert not settings.server.public_url_is_set
    ipv6 = make_settings(tmp_path, sqlite_url, server={"host": "::1", "port": 9123})
    assert ipv6.server.public_url == "http://[::1]:9123"
    everywhere = make_settings(tmp_path, sqlite_url, server={"host": "0.0.0.0"})  # noqa: S104
    assert everywhere.server.public_url == f"http://{socket.getfqdn()}:8080"
    chosen = make_settings(
        tmp_path, sqlite_url, server={"port": 9123, "public_url": "https://giaoban.example.org/"}
    )
    assert chosen.server.public_url == "https://giaoban.example.org"
    assert chosen.server.public_url_is_set
    from_environment = load_settings(
        None,
        environ={"GIAOBAN__SERVER__PORT": "9124", "GIAOBAN__SERVER__VAR_DIR": str(tmp_path)},
    )
    assert from_environment.server.public_url == "http://127.0.0.1:9124"


class Server:
    """A `giaoban serve` process whose output goes to a file the test reads as it grows."""

    def __init__(self, config_file: Path, log: Path, *args: str) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "meetings.core.cli", "--config", str(config_file)]
                + ["serve", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def until(self, condition: Callable[[], Any]) -> Any:
        """Poll a cheap condition until it holds; fail at once if the process died."""
        deadline = time.monotonic() + TIMEOUT
        while not (found := condition()):
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.05)
        return found

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def serve(config_file: Path, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(*args: str, config: Path = config_file) -> Server:
        server = Server(config, tmp_path / f"serve-{len(started)}.log", *args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def call(port: int, method: str, path: str, token: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


def test_links_in_a_sent_invitation_carry_the_port_given_to_serve(
    config_file: Path, tmp_path: Path, serve: Callable[..., Server]
):
    settings = load_settings(config_file)

    async def arrange(session: AsyncSession) -> str:
        from meetings.accounts import accounts
        from meetings.accounts.models import Role

        await make_user(session, username="org", role=Role.organiser)
        await make_site(session, contacts=[ContactIn(name="Chủ tịch", email="ct@example.org")])
        return await accounts.create_token(session, username="org")

    token = run_with_session(settings, arrange)
    port = free_port()
    server = serve("--port", str(port))
    server.until(lambda: "serving on" in server.output())
    assert f"links point at http://127.0.0.1:{port}/" in server.output()
    start = datetime.now(UTC) + timedelta(days=40)
    meeting = call(
        port,
        "POST",
        "/api/v1/meetings",
        token,
        {
            "title": "Giao ban",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "site_ids": [1],
        },
    )
    call(port, "POST", f"/api/v1/meetings/{meeting['id']}/invitations", token, {})
    drop = tmp_path / "mail"
    sent = server.until(lambda: sorted(drop.glob("*.eml")) if drop.is_dir() else [])
    message = message_from_bytes(sent[0].read_bytes(), policy=policy.default)
    texts = [
        part.get_content()
        for part in message.walk()
        if part.get_content_maintype() == "text" and not part.is_multipart()
    ]
    link = f"http://127.0.0.1:{port}/s/"
    assert any(link in text for text in texts), texts
    assert not any("127.0.0.1:8080" in text for text in texts)


def test_a_public_url_that_answers_nothing_is_warned_about_once_the_server_is_up(
    config_file: Path, tmp_path: Path, serve: Callable[..., Server]
):
    """The address accepts connections but never answers: the check waits its few
    seconds in the background while the server already serves, then warns."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        nowhere = f"http://127.0.0.1:{silent.getsockname()[1]}"
        config = tmp_path / "silent.toml"
        config.write_text(
            config_file.read_text() + f'[server]\npublic_url = "{nowhere}"\n', encoding="utf-8"
        )
        port = free_port()
        server = serve("--port", str(port), config=config)
        server.until(lambda: "serving on" in server.output())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=30) as page:  # noqa: S310
            assert page.status == 200
        assert "does not answer" not in server.output()  # still waiting: start-up was not
        warning = server.until(
            lambda: next(
                (line for line in server.output().splitlines() if "does not answer" in line), ""
            )
        )
    assert "WARNING" in warning and f"[server] public_url {nowhere} does not answer" in warning
    assert "no answer within 5 s" in warning
    assert f"http://127.0.0.1:{port}" in warning  # where links would point if left empty


def test_a_public_url_that_answers_is_only_noted(
    config_file: Path, tmp_path: Path, serve: Callable[..., Server]
):
    port = free_port()
    config = tmp_path / "own.toml"
    config.write_text(
        config_file.read_text() + f'[server]\npublic_url = "http://127.0.0.1:{port}"\n',
        encoding="utf-8",
    )
    server = serve("--port", str(port), config=config)
    server.until(lambda: "[server] public_url" in server.output())
    assert f"[server] public_url http://127.0.0.1:{port} answers (HTTP" in server.output()
    assert "WARNING" not in server.output()
