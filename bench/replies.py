"""Calendar replies through the real mailbox: the intake pass against the floor of fetching.

    .venv/bin/python bench/replies.py [--postgres URL] [--replies 10000] [--repeat 5]

Builds a register of `--replies` sites with one contact each (imported as a file, through
bench/invitations.py's helpers), one session inviting every site, and queues the
invitations (each outbox row knows its SEQUENCE). Starts Debian's Dovecot in a temporary
directory (tests/notify/inbound/dovecot.py: IMAPS with its own CA, a test user) and
delivers one reply per invited contact into INBOX, as an MTA does: the four clients'
samples in turn (Outlook accepts, Google declines, Apple is tentative, Thunderbird
accepts), each from its own contact, with its own Message-ID, answering the session's UID
and the SEQUENCE that contact was sent. The database is a fresh SQLite file (or the
scratch PostgreSQL database `--postgres URL`, emptied first; a copy is made beside it as
`<name>_bench_copy` to restore it from).

Then, `--repeat` times, interleaved:
- floor: one IMAP connection over TLS, as the worker's (connect, log in, SELECT), lists
  the folder and fetches every message in the worker's chunks (`[inbound] batch_size`
  UIDs per UID FETCH of BODY.PEEK[]), and does nothing with them;
- figure: the worker's pass (`intake.take_in_pass` on a connection opened the same way:
  fetch, understand, apply and commit, move), until the folder is empty. Then, not timed:
  every site's RSVP is compared with the answer its reply gives (a site not set so, from
  a calendar reply, is a miss), and the messages are moved back into INBOX and the
  database restored from the copy taken before the first repetition.

Printed: replies/second of both, median and spread (min–max) over the repetitions, the
ratio figure/floor (of the medians; target ≥ 0.50) with its verdict, the misses (target
0), where the figure's time goes (the pass's own stage timings: fetch waited for, parse,
apply + commit, move; medians), and the load average before and after (the machine's 2
cores may be shared: a figure beside a high load is not a measurement).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: tests/ is beside it

import asyncpg  # type: ignore[import-untyped]  # noqa: E402
from invitations import SECRET, plan_session, timed, wipe_postgres  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlmodel import col  # noqa: E402

from meetings.core.migrate import upgrade  # noqa: E402
from meetings.core.settings import Settings, load_settings  # noqa: E402
from meetings.core.store import create_engine, session_maker  # noqa: E402
from meetings.planning.models import Meeting, Participation, Rsvp, RsvpSource  # noqa: E402
from notify.inbound import intake, mailbox  # noqa: E402
from notify.inbound.models import InboundMail, InboundOutcome  # noqa: E402
from notify.mail import invitations  # noqa: E402
from notify.mail.models import Message  # noqa: E402
from tests.notify.inbound.dovecot import Dovecot  # noqa: E402
from tests.notify.inbound.dovecot import Mailbox as TestMailbox  # noqa: E402
from tests.notify.inbound.samples import sample  # noqa: E402

RATIO_TARGET = 0.50
#: The clients' samples in turn, and the RSVP each one's answer sets.
CLIENTS = (
    ("outlook_accept", Rsvp.accepted),
    ("google_decline", Rsvp.declined),
    ("apple_tentative", Rsvp.tentative),
    ("thunderbird_accept", Rsvp.accepted),
)
STAGES = intake.STAGES


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class World:
    settings: Settings
    box: TestMailbox
    meeting_id: int
    #: site id → the RSVP its reply gives.
    expected: dict[int, Rsvp]
    #: How to put the database back as it was before the first repetition.
    restore: Restore


@dataclass
class Run:
    """One repetition: the floor's and the figure's seconds, the figure's stages."""

    floor: float
    figure: float
    stages: dict[str, float]
    misses: int
    outcomes: Counter[InboundOutcome] = field(default_factory=Counter)


class Restore:
    """The database as it was before the first pass: a copy, put back between passes."""

    async def take(self) -> None:
        raise NotImplementedError

    async def put_back(self) -> None:
        raise NotImplementedError


class SqliteRestore(Restore):
    """SQLite's backup API (consistent whatever the journal mode), file to file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.copy = path.with_suffix(".copy")

    @staticmethod
    def _copy(source: Path, target: Path) -> None:
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        src.close()
        dst.close()

    async def take(self) -> None:
        self._copy(self.path, self.copy)

    async def put_back(self) -> None:
        self._copy(self.copy, self.path)


class PostgresRestore(Restore):
    """A database made from the scratch one as its template; the scratch database is
    dropped and made again from the copy (no connection may be open to either)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url.replace("+asyncpg", ""))
        self.name = parts.path.lstrip("/")
        self.copy = f"{self.name}_bench_copy"
        self.admin = parts._replace(path="/postgres").geturl()

    async def _run(self, *statements: str) -> None:
        connection = await asyncpg.connect(self.admin)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    async def take(self) -> None:
        await self._run(
            f'DROP DATABASE IF EXISTS "{self.copy}"',
            f'CREATE DATABASE "{self.copy}" TEMPLATE "{self.name}"',
        )

    async def put_back(self) -> None:
        await self._run(
            f'DROP DATABASE "{self.name}" WITH (FORCE)',
            f'CREATE DATABASE "{self.name}" TEMPLATE "{self.copy}"',
        )

    async def drop(self) -> None:
        await self._run(f'DROP DATABASE IF EXISTS "{self.copy}"')


async def build(folder: Path, server: Dovecot, *, replies: int, postgres: str | None) -> World:
    """The register, the session, its invitations queued, a reply per invitation in
    INBOX, and the database's copy."""
    box = server.new_mailbox()
    database_url = postgres or f"sqlite+aiosqlite:///{folder}/replies.sqlite3"
    settings = load_settings(
        None,
        environ={"GIAOBAN_SECRET_KEY": SECRET} | box.environ(),
        overrides={
            "server": {"var_dir": str(folder / "var")},
            "database": {"url": database_url},
            "mail": {"mode": "drop", "drop_dir": str(folder / "drop"), "worker": False},
            "inbound": box.inbound(tls="tls"),
        },
    )
    await asyncio.to_thread(upgrade, settings.database)
    if postgres:
        await wipe_postgres(settings)
    engine = create_engine(settings.database)
    maker = session_maker(engine)
    try:
        meeting_id = await plan_session(maker, site_count=replies, contacts=1)
        async with maker() as session, session.begin():
            queued = await invitations.queue_invitations(session, meeting_id, secret_key=SECRET)
        if queued.invitations != replies:
            raise SystemExit(f"queued {queued.invitations} invitations, expected {replies}")
        async with maker() as session:
            uid = await session.scalar(
                select(col(Meeting.uid)).where(col(Meeting.id) == meeting_id)
            )
            told = (
                await session.execute(
                    select(col(Message.site_id), col(Message.recipient), col(Message.sequence))
                    .where(col(Message.meeting_id) == meeting_id)
                    .order_by(col(Message.id))
                )
            ).all()
    finally:
        await engine.dispose()
    expected: dict[int, Rsvp] = {}
    raws: list[bytes] = []
    for n, (site_id, recipient, sequence) in enumerate(told):
        name, answer = CLIENTS[n % len(CLIENTS)]
        if uid is None or site_id is None:
            raise SystemExit("the session or an invitation's site is missing")
        raws.append(
            sample(
                name,
                uid=uid,
                sequence=str(sequence),
                attendee=recipient,
                message_id=f"reply-{n}.{name}@mail.example.net",
            )
        )
        expected[site_id] = answer
    box.deliver_many(raws)
    restore: Restore
    if postgres:
        restore = PostgresRestore(postgres)
    else:
        restore = SqliteRestore(folder / "replies.sqlite3")
    await restore.take()
    return World(settings, box, meeting_id, expected, restore)


async def floor(world: World) -> float:
    """Every message fetched over one connection in the worker's chunks, not processed."""
    inbound = world.settings.inbound
    count = 0
    with timed() as timing:
        async with mailbox.connect(inbound) as box:
            uids = await box.uids()
            for start in range(0, len(uids), inbound.batch_size):
                count += len(await box.fetch(uids[start : start + inbound.batch_size]))
    if count != len(world.expected):
        raise SystemExit(f"floor: fetched {count} of {len(world.expected)} messages")
    return timing.wall


async def figure(world: World) -> tuple[float, intake.PassReport]:
    """The worker's pass (fetch, understand, apply + commit, move) until INBOX is empty."""
    engine = create_engine(world.settings.database)
    maker = session_maker(engine)
    total = intake.PassReport()
    try:
        async with maker() as session:  # the worker's engine is long-lived: connected
            await session.scalar(select(func.count()).select_from(Meeting))
        with timed() as timing:
            async with mailbox.connect(world.settings.inbound) as box:
                while True:
                    report = await intake.take_in_pass(box, maker, world.settings)
                    total.read += report.read
                    total.moved += report.moved
                    total.outcomes.update(report.outcomes)
                    for stage, seconds in report.seconds.items():
                        total.seconds[stage] += seconds
                    if not report.read:
                        break
    finally:
        await engine.dispose()
    return timing.wall, total


async def misses(world: World) -> tuple[int, Counter[InboundOutcome]]:
    """Sites whose RSVP is not the one their reply gives (from a calendar reply), and the
    stored rows' outcomes."""
    engine = create_engine(world.settings.database)
    try:
        async with session_maker(engine)() as session:
            rows = await session.execute(
                select(
                    col(Participation.site_id),
                    col(Participation.rsvp),
                    col(Participation.rsvp_source),
                ).where(col(Participation.meeting_id) == world.meeting_id)
            )
            found = {site: (rsvp, source) for site, rsvp, source in rows}
            outcomes = Counter(
                InboundOutcome(outcome)
                for outcome in await session.scalars(select(col(InboundMail.outcome)))
            )
    finally:
        await engine.dispose()
    missed = sum(
        1
        for site, answer in world.expected.items()
        if found.get(site) != (answer, RsvpSource.calendar)
    )
    return missed, outcomes


async def reset(world: World) -> None:
    """The messages back into INBOX (one UID MOVE), the database as it was."""
    inbound = world.settings.inbound
    done = dataclasses.replace(inbound, folder=inbound.processed_folder)
    async with mailbox.connect(done) as box:
        uids = await box.uids()
        if uids:
            await box.move(uids, inbound.folder)
    await world.restore.put_back()
    left = world.box.folder_count(inbound.processed_folder)
    waiting = world.box.folder_count(inbound.folder)
    if waiting != len(world.expected):
        raise SystemExit(f"reset: {waiting} messages in INBOX ({left} left in processed)")


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):8.0f}  ({min(values):.0f}–{max(values):.0f})"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def show(replies: int, runs: list[Run]) -> bool:
    floors = [replies / run.floor for run in runs]
    figures = [replies / run.figure for run in runs]
    ratio = statistics.median(figures) / statistics.median(floors)
    missed = max(run.misses for run in runs)
    print(f"  {'replies/s, median (min–max)':<44}")
    print(f"  {'floor: fetch only, one connection':<44}{spread(floors)}")
    print(f"  {'figure: fetch + understand + apply + move':<44}{spread(figures)}")
    print(
        f"  {'ratio figure/floor':<44}{ratio:8.2f}   target ≥ {RATIO_TARGET:.2f}  "
        f"{verdict(ratio >= RATIO_TARGET)}"
    )
    print(
        f"  {'sites not set as their reply says':<44}{missed:8d}   target 0      "
        f"{verdict(missed == 0)}"
    )
    print(
        "  where the figure's seconds go (medians; the pass's own stage timings, which"
        " overlap:\n  fetching and understanding run beside applying and moving):"
    )
    for stage, label in zip(
        STAGES,
        (
            "fetch (waited for by the reading stage)",
            "understand",
            "apply + commit (take_in)",
            "move (waited for by the applying stage)",
        ),
        strict=True,
    ):
        values = [run.stages.get(stage, 0.0) for run in runs]
        print(f"    {label:<42}{statistics.median(values):8.2f} s")
    budget = replies / (RATIO_TARGET * statistics.median(floors))
    print(f"  the target leaves the whole pass {budget:.2f} s")
    outcomes = runs[-1].outcomes
    print(
        "  rows of the last pass: "
        + ", ".join(f"{outcome.value} {n}" for outcome, n in sorted(outcomes.items()))
    )
    return ratio >= RATIO_TARGET and missed == 0


async def run(args: argparse.Namespace) -> bool:
    server = Dovecot.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            print(
                f"giaoban reply bench ({'PostgreSQL' if args.postgres else 'SQLite'}, "
                f"Dovecot IMAPS on 127.0.0.1, {args.replies:,} replies, {args.repeat} rounds)"
            )
            with timed() as building:
                world = await build(
                    Path(folder), server, replies=args.replies, postgres=args.postgres
                )
            print(
                f"  built in {building.wall:.1f} s; batch_size "
                f"{world.settings.inbound.batch_size}; load average {load()}"
            )
            runs: list[Run] = []
            for round_ in range(1, args.repeat + 1):
                floor_seconds = await floor(world)
                figure_seconds, report = await figure(world)
                if report.read != args.replies:
                    raise SystemExit(f"the pass read {report.read} of {args.replies}")
                missed, outcomes = await misses(world)
                runs.append(
                    Run(floor_seconds, figure_seconds, dict(report.seconds), missed, outcomes)
                )
                print(
                    f"  round {round_}: floor {floor_seconds:6.2f} s, figure "
                    f"{figure_seconds:6.2f} s, misses {missed}; load average {load()}"
                )
                await reset(world)
            ok = show(args.replies, runs)
            if isinstance(world.restore, PostgresRestore):
                await world.restore.drop()
            print(f"  load average at the end {load()}")
            return ok
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="a scratch PostgreSQL database")
    parser.add_argument("--replies", type=int, default=10_000, help="sites, and replies")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of floor and figure")
    started = time.perf_counter()
    ok = asyncio.run(run(parser.parse_args()))
    print(f"  bench took {time.perf_counter() - started:.0f} s")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
