"""Invitation delivery throughput: the outbox against the floor of sending pre-built mail.

    .venv/bin/python bench/invitations.py [--postgres URL] [--connections 4] [--large 10000]

For 52 sites × 3 contacts and for 10,000 sites × 1 contact, on a fresh SQLite file (or
on PostgreSQL with `--postgres URL`: a scratch database, emptied first), this builds the
register through the import and planning functions, queues the invitations with
`queue_invitations` and delivers them with the real renderer and `SmtpTransport` to a
local aiosmtpd sink that only counts. The floor is the same sink receiving as many
pre-built messages (one rendered invitation, copied with a new To) over as many
connections. Printed: queue and delivery seconds, messages/second, the floor, the ratio
(target ≥ 0.50) and, at 10,000 recipients, queue + delivery (target < 60 s). Beside each
wall-clock time, the process's CPU seconds (all threads, the sink's included): on a
shared machine they move less than the wall clock does.

WeasyPrint (the PDF letter) is imported before timing: a running service pays that
once per process (over a second), not per mailing; the letter's render is timed.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import csv
import io
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller
from sqlalchemy import select, text
from sqlmodel import SQLModel

import meetings.tables  # noqa: F401  (every table, for the PostgreSQL wipe)
from meetings import imports, planning, sites
from meetings.meeting_models import MeetingCreate
from meetings.migrate import upgrade
from meetings.models import ClusterCreate
from meetings.settings import Settings, load_settings
from meetings.store import SessionMaker, create_engine, session_maker
from notify import invitations, outbox
from notify.models import Message
from notify.render import make_renderer

SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
CLUSTERS = 5
RATIO_TARGET = 0.5
LARGE_SECONDS_TARGET = 60.0


class CountingSink:
    """An SMTP server that accepts everything and only counts (the cheapest receiver)."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sites_csv(count: int, contacts: int) -> bytes:
    """The import file: `count` sites spread over the clusters, `contacts` e-mails each."""
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["code", "name", "province", "cluster"]
    for n in range(1, contacts + 1):
        header += [f"contact{n}_name", f"contact{n}_email", f"contact{n}_role"]
    writer.writerow(header)
    roles = ("head", "secretary", "technical")
    for n in range(count):
        row = [
            f"DC-{n:05d}",
            f"Liên hiệp các tổ chức hữu nghị điểm cầu {n}",
            f"Tỉnh {n % 63}",
            f"CUM-{n % CLUSTERS + 1}",
        ]
        for c in range(contacts):
            row += [f"Nguyễn Văn {n}-{c}", f"lienhe{n}-{c}@example.org", roles[c % len(roles)]]
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


@dataclass
class Timing:
    """Wall-clock and CPU seconds (of the whole process, every thread) of one phase."""

    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def timed() -> Iterator[Timing]:
    timing = Timing()
    wall, cpu = time.perf_counter(), time.process_time()
    yield timing
    timing.wall = time.perf_counter() - wall
    timing.cpu = time.process_time() - cpu


@dataclass
class Figures:
    recipients: int
    queue: Timing
    deliver: Timing
    floor: Timing

    @property
    def rate(self) -> float:
        return self.recipients / self.deliver.wall

    @property
    def floor_rate(self) -> float:
        return self.recipients / self.floor.wall

    @property
    def ratio(self) -> float:
        return self.rate / self.floor_rate


async def wipe_postgres(settings: Settings) -> None:
    engine = create_engine(settings.database)
    async with engine.begin() as connection:
        names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


async def plan_session(maker: SessionMaker, *, site_count: int, contacts: int) -> int:
    """The register (imported as a file, the way an office loads it) and one session."""
    async with maker() as session, session.begin():
        for code in range(1, CLUSTERS + 1):
            await sites.create_cluster(
                session, ClusterCreate(code=f"CUM-{code}", name=f"Cụm {code}")
            )
    async with maker() as session, session.begin():
        await imports.import_sites(
            session, content=sites_csv(site_count, contacts), kind="csv", dry_run=False
        )
    starts = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=10)
    async with maker() as session, session.begin():
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Hội nghị giao ban trực tuyến toàn quốc",
                starts_at=starts,
                ends_at=starts + timedelta(hours=3),
                all_sites=True,
                video_url="https://meet.example.org/giaoban",
            ),
            organiser_id=None,
            default_location="Hội trường Liên hiệp",
        )
    return meeting.id


async def floor(
    template: EmailMessage, recipients: list[str], *, port: int, connections: int
) -> Timing:
    """The same number of messages, already built, over the same number of connections.

    Each connection sends its own copy of the rendered invitation with only the To header
    changed per recipient (10,000 deep copies would take gigabytes and minutes to make).
    """
    shares = [recipients[i::connections] for i in range(min(connections, len(recipients)))]
    copies = [copy.deepcopy(template) for _ in shares]

    async def send(message: EmailMessage, share: list[str]) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        for address in share:
            message.replace_header("To", address)
            await client.send_message(message)
        await client.quit()

    with timed() as timing:
        await asyncio.gather(*(send(m, share) for m, share in zip(copies, shares, strict=True)))
    return timing


async def scenario(
    folder: Path,
    *,
    site_count: int,
    contacts: int,
    connections: int,
    postgres: str | None,
    sink: CountingSink,
    port: int,
) -> Figures:
    database_url = postgres or f"sqlite+aiosqlite:///{folder}/bench-{site_count}.sqlite3"
    settings = load_settings(
        None,
        environ={"GIAOBAN_SECRET_KEY": SECRET},
        overrides={
            "server": {"var_dir": str(folder / "var")},
            "database": {"url": database_url},
            "mail": {
                "mode": "smtp",
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "max_connections": connections,
                "worker": False,
            },
        },
    )
    await asyncio.to_thread(upgrade, settings.database)
    if postgres:
        await wipe_postgres(settings)
    engine = create_engine(settings.database)
    maker = session_maker(engine)
    try:
        meeting_id = await plan_session(maker, site_count=site_count, contacts=contacts)

        with timed() as queue_timing:
            async with maker() as session, session.begin():
                queued = await invitations.queue_invitations(session, meeting_id, secret_key=SECRET)
        expected = site_count * contacts
        if queued.invitations != expected:
            raise SystemExit(f"queued {queued.invitations} invitations, expected {expected}")

        render = make_renderer(settings)
        sink.count = 0
        with timed() as deliver_timing:
            report = await outbox.deliver_due(
                maker, outbox.SmtpTransport(settings.mail), render, connections=connections
            )
        if report.sent != expected or sink.count != expected:
            raise SystemExit(f"sent {report.sent}, sink received {sink.count} of {expected}")

        async with maker() as session:
            row = await session.get(Message, 1)
            if row is None:
                raise SystemExit("the outbox lost its first row")
            template = await render(session, row)
            recipients = [m.recipient for m in (await session.scalars(select(Message))).all()]
    finally:
        await engine.dispose()

    sink.count = 0
    floor_timing = await floor(template, recipients, port=port, connections=connections)
    if sink.count != expected:
        raise SystemExit(f"floor: sink received {sink.count} of {expected}")
    return Figures(expected, queue_timing, deliver_timing, floor_timing)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def show(name: str, figures: Figures, *, total_target: float | None) -> None:
    total = figures.queue.wall + figures.deliver.wall
    print(f"{name}: {figures.recipients} recipients")
    print(
        f"  queue (queue_invitations)          {figures.queue.wall:8.2f} s"
        f"                 cpu {figures.queue.cpu:7.2f} s"
    )
    print(
        f"  deliver (outbox → SMTP)            {figures.deliver.wall:8.2f} s"
        f"   {figures.rate:6.0f} msg/s   cpu {figures.deliver.cpu:7.2f} s"
    )
    print(
        f"  floor (pre-built → SMTP)           {figures.floor.wall:8.2f} s"
        f"   {figures.floor_rate:6.0f} msg/s   cpu {figures.floor.cpu:7.2f} s"
    )
    print(
        f"  ratio outbox/floor                 {figures.ratio:8.2f}     target ≥ {RATIO_TARGET:.2f}"
        f"  {verdict(figures.ratio >= RATIO_TARGET)}"
    )
    line = f"  queue + deliver                    {total:8.2f} s"
    if total_target is not None:
        line += f"   target < {total_target:g} s   {verdict(total < total_target)}"
    print(line)


async def run(args: argparse.Namespace) -> None:
    import weasyprint  # noqa: F401  (see the module's docstring)

    sink = CountingSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            print(
                f"giaoban invitation bench ({'PostgreSQL' if args.postgres else 'SQLite'}, "
                f"{args.connections} SMTP connections, aiosmtpd sink in-process)"
            )
            for name, site_count, contacts, target in (
                ("52 sites × 3 contacts", 52, 3, None),
                (
                    f"{args.large:,} sites × 1 contact",
                    args.large,
                    1,
                    # The 60 s target is set for 10,000 recipients; other sizes just report.
                    LARGE_SECONDS_TARGET if args.large == 10_000 else None,
                ),
            ):
                figures = await scenario(
                    Path(folder),
                    site_count=site_count,
                    contacts=contacts,
                    connections=args.connections,
                    postgres=args.postgres,
                    sink=sink,
                    port=port,
                )
                show(name, figures, total_target=target)
    finally:
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="a scratch PostgreSQL database")
    parser.add_argument("--connections", type=int, default=4, help="[mail] max_connections")
    parser.add_argument(
        "--large", type=int, default=10_000, help="sites of the second run (its target is 60 s)"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
