"""Applying replies alone: `apply.take_in` on batches of understood mails, no mailbox.

    .venv/bin/python bench/take_in.py [--replies 2000] [--batch 500] [--repeat 3]
                                      [--mixed] [--rows] [--postgres URL] [--profile]

Builds a register of `--replies` sites with one contact each and one session inviting
them all, queues the invitations (bench/invitations.py's helpers, as bench/replies.py
does), and reads one reply per invitation with `parse.understand` from the clients'
samples in turn (tests/notify/inbound/samples). With `--mixed`, one mail in ten is a
permanent bounce of the invitation (to its VERP return path) and one in ten a plain reply
to it. The database is a fresh migrated SQLite file (or the scratch PostgreSQL database
`--postgres URL`, emptied first), copied before the first round and put back after each.

Each round applies every mail in batches of `--batch` (the worker's `[inbound]
batch_size`), one transaction per batch as `intake.record` does, and checks every site's
RSVP afterwards (not timed). `take_in_batch` (the worker's) is timed, which returns what
the pass needs of each mail; with `--rows`, `take_in`, which reads each mail's row back.
Printed: µs per mail of applying + commit (median and spread over the rounds), and the
load average (2 shared cores: a figure beside a high load is not a measurement).
`--profile` prints cProfile's top functions of the last round.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: tests/ is beside it

from invitations import SECRET, plan_session, wipe_postgres  # noqa: E402
from replies import CLIENTS, PostgresRestore, Restore, SqliteRestore, load  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402
from sqlmodel import col  # noqa: E402

from meetings.core.migrate import upgrade  # noqa: E402
from meetings.core.settings import Settings, load_settings  # noqa: E402
from meetings.core.store import SessionMaker, create_engine, session_maker  # noqa: E402
from meetings.planning.models import Meeting, Participation, Rsvp, RsvpSource  # noqa: E402
from notify.inbound import apply, parse  # noqa: E402
from notify.inbound.addresses import return_path  # noqa: E402
from notify.inbound.parsed import Mail  # noqa: E402
from notify.mail import invitations  # noqa: E402
from notify.mail.models import Message, MessageStatus  # noqa: E402
from tests.notify.inbound.samples import sample  # noqa: E402

INBOUND = "giaoban@inbound.example.gov.vn"


async def build(
    folder: Path, *, replies: int, mixed: bool, postgres: str | None
) -> tuple[Settings, list[Mail], dict[int, Rsvp], Restore]:
    """The register, the session, its invitations, the mails understood, the copy."""
    url = postgres or f"sqlite+aiosqlite:///{folder}/take_in.sqlite3"
    settings = load_settings(
        None,
        environ={"GIAOBAN_SECRET_KEY": SECRET},
        overrides={
            "server": {"var_dir": str(folder / "var")},
            "database": {"url": url},
            "mail": {"mode": "drop", "drop_dir": str(folder / "drop"), "worker": False},
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
            await invitations.queue_invitations(session, meeting_id, secret_key=SECRET)
            await session.execute(
                update(Message).values(
                    status=MessageStatus.sent, message_id="<m-" + col(Message.recipient) + ">"
                )
            )
        async with maker() as session:
            uid = await session.scalar(
                select(col(Meeting.uid)).where(col(Meeting.id) == meeting_id)
            )
            told = (
                await session.execute(
                    select(
                        col(Message.id),
                        col(Message.site_id),
                        col(Message.recipient),
                        col(Message.sequence),
                    )
                    .where(col(Message.meeting_id) == meeting_id)
                    .order_by(col(Message.id))
                )
            ).all()
    finally:
        await engine.dispose()
    mails: list[Mail] = []
    expected: dict[int, Rsvp] = {}
    for n, (message_id, site_id, recipient, sequence) in enumerate(told):
        name, answer = CLIENTS[n % len(CLIENTS)]
        if mixed and n % 10 == 7:
            raw = sample(
                "dsn_5_1_1",
                attendee=recipient,
                message_id=f"bounce-{n}@mail.example.net",
                in_reply_to=f"m-{recipient}",
                return_path=return_path(INBOUND, message_id, SECRET),
            )
        elif mixed and n % 10 == 8:
            raw = sample(
                "plain_reply",
                attendee=recipient,
                message_id=f"plain-{n}@mail.example.net",
                in_reply_to=f"m-{recipient}",
            )
        else:
            raw = sample(
                name,
                uid=uid or "",
                sequence=str(sequence),
                attendee=recipient,
                message_id=f"reply-{n}.{name}@mail.example.net",
            )
            expected[site_id or 0] = answer
        mails.append(parse.understand(raw))
    restore: Restore = (
        PostgresRestore(postgres) if postgres else SqliteRestore(folder / "take_in.sqlite3")
    )
    await restore.take()
    return settings, mails, expected, restore


async def apply_all(maker: SessionMaker, mails: list[Mail], batch: int, rows: bool) -> float:
    """Every mail, a batch per transaction; the seconds it took. `rows`: through
    `take_in` (each mail's whole row read back), else `take_in_batch` (the worker's)."""
    take = apply.take_in if rows else apply.take_in_batch
    now = datetime.now(UTC)
    began = time.perf_counter()
    for start in range(0, len(mails), batch):
        async with maker() as session, session.begin():
            await take(
                session,
                mails[start : start + batch],
                inbound_address=INBOUND,
                secret=SECRET,
                now=now,
            )
    return time.perf_counter() - began


async def misses(maker: SessionMaker, expected: dict[int, Rsvp]) -> tuple[int, int]:
    async with maker() as session:
        rows = await session.execute(
            select(
                col(Participation.site_id), col(Participation.rsvp), col(Participation.rsvp_source)
            )
        )
        found = {site: (rsvp, source) for site, rsvp, source in rows}
        versions = await session.scalar(select(func.sum(col(Participation.version))))
    wrong = sum(1 for s, a in expected.items() if found.get(s) != (a, RsvpSource.calendar))
    return wrong, int(versions or 0)


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings, mails, expected, restore = await build(
            Path(folder), replies=args.replies, mixed=args.mixed, postgres=args.postgres
        )
        print(
            f"take_in bench ({'PostgreSQL' if args.postgres else 'SQLite'}, {len(mails):,} "
            f"mails{' mixed' if args.mixed else ''}, batches of {args.batch}, "
            f"{'take_in: rows read back' if args.rows else 'take_in_batch'}); "
            f"load average {load()}"
        )
        seconds: list[float] = []
        for round_ in range(1, args.repeat + 1):
            engine = create_engine(settings.database)
            maker = session_maker(engine)
            try:
                async with maker() as session:  # connected, as the worker's engine is
                    await session.scalar(select(func.count()).select_from(Meeting))
                before = (await misses(maker, expected))[1]
                profile = cProfile.Profile() if args.profile and round_ == args.repeat else None
                if profile is not None:
                    profile.enable()
                took = await apply_all(maker, mails, args.batch, args.rows)
                if profile is not None:
                    profile.disable()
                wrong, after = await misses(maker, expected)
                # every applied reply raises its participation's version once
                wrong += abs(after - before - len(expected))
            finally:
                await engine.dispose()
            seconds.append(took)
            print(
                f"  round {round_}: {took:6.2f} s, {took / len(mails) * 1e6:6.0f} µs/mail, "
                f"misses {wrong}; load average {load()}"
            )
            await restore.put_back()
            if profile is not None:
                pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
        per = [s / len(mails) * 1e6 for s in seconds]
        print(
            f"  µs per mail: median {statistics.median(per):.0f} "
            f"({min(per):.0f}–{max(per):.0f}); load average at the end {load()}"
        )
        if isinstance(restore, PostgresRestore):
            await restore.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mixed", action="store_true")
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--rows", action="store_true", help="take_in, not take_in_batch")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
