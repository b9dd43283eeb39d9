"""The `giaoban` command: demo data, accounts, tokens, and a real `serve` process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.core.cli import main, run_with_session
from meetings.core.demo import demo_plan
from meetings.core.settings import Settings
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingCreate, MeetingStatus
from meetings.register.models import ContactIn
from notify.mail import invitations
from notify.mail.models import Message
from tests.conftest import TEST_SECRET
from tests.factories import make_site

SEEDED_CLUSTER_ONE = {
    "Bắc Giang",
    "Bắc Ninh",
    "Hà Nội",
    "Hải Dương",
    "Hải Phòng",
    "Nam Định",
    "Nghệ An",
    "Ninh Bình",
    "Thái Bình",
    "Thanh Hóa",
    "Vĩnh Phúc",
}


def run(config_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meetings.core.cli", "--config", str(config_file), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_plan_is_52_unions_in_5_clusters():
    plan = demo_plan()
    assert len(plan) == 5
    assert set(plan[0][2]) == SEEDED_CLUSTER_ONE
    everyone = [p for _, _, members in plan for p in members]
    assert len(everyone) == 52 == len(set(everyone))
    assert "Kiên Giang" in everyone
    assert all("minh họa" in name for _, name, _ in plan[1:])


def test_demo_then_serve_answers_with_the_52_sites(config_file: Path):
    demo = run(config_file, "demo")
    assert demo.returncode == 0, demo.stderr
    assert "illustrative" in demo.stdout
    passwords = dict(
        line.split()[1:3] for line in demo.stdout.splitlines() if line.startswith("  ")
    )
    assert set(passwords) == {"admin", "organiser", "secretary", "chair", "cumtruong"}
    again = run(config_file, "demo")  # idempotent: nothing doubles
    assert "0 new sites" in again.stdout

    token = run(config_file, "tokens", "create", "organiser").stdout.strip()
    assert token.startswith("gb_")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "meetings.core.cli",
            "--config",
            str(config_file),
            "serve",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        lines = []  # log lines of start-up may come first; the banner means "listening"
        while "serving on" not in (line := server.stdout.readline()) and line:
            lines.append(line)
        assert f"serving on http://127.0.0.1:{port}/" in line, lines
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/sites", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            body = response.read().decode()
        sessions = _get(port, token, "/api/v1/meetings")
        reference = next(m for m in sessions["items"] if m["status"] == "ended")
        agenda = _get(port, token, f"/api/v1/meetings/{reference['id']}/agenda")
        focus = _get(port, token, f"/api/v1/meetings/{reference['id']}/focus-items")
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()
    listing = json.loads(body)
    assert listing["total"] == 52
    assert len(listing["items"]) == 52
    by_cluster: dict[str, int] = {}
    for site in listing["items"]:
        by_cluster[site["cluster_code"]] = by_cluster.get(site["cluster_code"], 0) + 1
        assert 2 <= len(site["contacts"]) <= 3
        assert all(c["email"].endswith("@example.org") for c in site["contacts"])
    assert by_cluster["CUM-1"] == 11 and len(by_cluster) == 5
    # The reference briefing of 19/4/2024 (ended) and its successor (scheduled).
    assert sessions["total"] == 2
    assert reference["starts_at"] == "2024-04-19T01:00:00Z" and reference["site_count"] == 52
    assert [a["kind"] for a in agenda] == ["opening", "report", "discussion", "conclusion"]
    assert [f["number"] for f in focus] == list(range(1, 11))
    upcoming = next(m for m in sessions["items"] if m["status"] == "scheduled")
    assert upcoming["series_id"] == reference["series_id"] and upcoming["site_count"] == 52
    local = datetime.fromisoformat(upcoming["starts_at"]).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    assert (local.weekday(), local.hour) == (4, 8)  # a Friday at 08:00, like 19/4/2024


def _get(port: int, token: str, path: str) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def test_users_and_tokens(config_file: Path, capsys: pytest.CaptureFixture[str]):
    def giaoban(*args: str) -> int:
        return main(["--config", str(config_file), *args])

    add = ("users", "add")
    assert (
        giaoban(
            *add,
            "lan",
            "--role",
            "secretary",
            "--full-name",
            "Nguyễn Thị Lan",
            "--password",
            "a-long-password",
        )
        == 0
    )
    assert giaoban(*add, "lan", "--role", "chair", "--password", "another-password") == 1
    assert "already exists" in capsys.readouterr().err
    assert giaoban(*add, "x", "--role", "chair", "--password", "short") == 1
    assert "password" in capsys.readouterr().err
    assert giaoban("tokens", "create", "nobody") == 1
    assert "no user named 'nobody'" in capsys.readouterr().err
    assert giaoban("users", "list") == 0
    assert "lan\tsecretary\tNguyễn Thị Lan" in capsys.readouterr().out


def test_the_scheduler_alone_plans_the_demo_and_jobs_lists_it(config_file: Path, tmp_path: Path):
    """`giaoban scheduler` (no web server) stores the plan; `giaoban jobs` shows it."""
    import os
    import signal
    import time

    assert run(config_file, "demo").returncode == 0
    assert "no stored jobs" in run(config_file, "jobs").stdout
    log = tmp_path / "scheduler.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "meetings.core.cli", "--config", str(config_file), "scheduler"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + 60
        while "scheduler running" not in log.read_text(errors="replace"):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()
    listed = run(config_file, "jobs").stdout.splitlines()
    planned = [line for line in listed if "meeting:" in line]
    # The demo's next session: 2 reminders, the request for answers, the rehearsal,
    # going live and ending.
    assert len(planned) == 6, listed
    assert sum("reminder" in line for line in planned) == 2
    assert any("outbox:retry" in line for line in listed)


def test_a_session_cancelled_from_the_command_line_still_queues_its_cancellations(
    settings: Settings,
):
    """A command-line run wires the same receivers as the app (no app is running)."""
    start = datetime(2030, 4, 19, 1, 0, tzinfo=UTC)

    async def arrange(session: AsyncSession) -> int:
        site = await make_site(
            session, contacts=[ContactIn(name="Chủ tịch", email="ct@example.org")]
        )
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Giao ban",
                starts_at=start,
                ends_at=start + timedelta(hours=3),
                site_ids=[site.id],
            ),
            organiser_id=None,
            default_location="Hội trường",
        )
        await planning.change_status(session, meeting.id, MeetingStatus.scheduled)
        await invitations.queue_invitations(session, meeting.id, secret_key=TEST_SECRET)
        return meeting.id

    async def kinds(session: AsyncSession) -> list[str]:
        return sorted((await session.scalars(select(Message.kind))).all())

    meeting_id = run_with_session(settings, arrange)
    run_with_session(settings, lambda s: planning.cancel_meeting(s, meeting_id, reason="Bão"))
    assert run_with_session(settings, kinds) == ["cancellation", "invitation"]
