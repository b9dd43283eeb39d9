"""One pass over the inbound folder: read each chunk, apply it in one transaction, move it.

For each chunk of `[inbound] batch_size` messages: fetch → understand (pure, never
raises) → `apply.take_in` in ONE transaction → commit → move the chunk's messages out
(the unreadable ones to `unreadable_folder`, the rest to `processed_folder`).

Why this order is safe:
- The `InboundMail` row, unique by the message's key, is committed with what the message
  changed; the message leaves the folder only afterwards. Killed between the commit and
  the move, the next pass reads the message again, `take_in` returns the stored row and
  applies nothing, and the message is only moved.
- Two workers on one mailbox read the same messages: the second commit fails on the
  unique key; that chunk is then taken in one mail per transaction, where a mail whose
  row is already stored is not applied again. Each message changes the database once.
  The messages the other worker committed meanwhile are left to it to move (two IMAP
  sessions moving one message at the same instant can leave it twice in the processed
  folder); should it die before it does, the next pass, soon after, moves them. One
  the other had committed just before this worker looked is moved by both, and may
  rarely be there twice: that folder is an archive, the database is what counts.
- A message that cannot be understood is recorded as unreadable (with the reason) and
  moved aside; one whose applying fails is recorded the same way with the error. Neither
  stops the pass, and the messages after it are applied in the same pass.
- A database that cannot be reached stops the pass (nothing is moved) and the worker
  tries again later: nothing is marked unreadable for a fault of ours.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlmodel import col

from meetings.core.settings import Settings
from meetings.core.store import SessionMaker, utcnow
from notify.inbound import apply, parse
from notify.inbound.imap import Fetched
from notify.inbound.lookup import Taken
from notify.inbound.mailbox import Mailbox
from notify.inbound.models import InboundKind, InboundMail, InboundOutcome
from notify.inbound.parsed import Envelope, Mail, Unreadable

log = logging.getLogger(__name__)

#: Tries of one mail whose commit collides with another worker's (the next try finds
#: the other's row and applies nothing).
COLLISION_TRIES = 3
#: Values in one `IN (...)`: under SQLite's old limit of 999 parameters.
KEYS_PER_QUERY = 450


#: The stages of a pass, as `PassReport.seconds` names them.
STAGES = ("fetch", "parse", "apply", "move")


@dataclass
class PassReport:
    """What one pass read, by kind and outcome (for the log line)."""

    read: int = 0
    moved: int = 0
    #: Left in the folder for the worker that committed them meanwhile to move.
    deferred: int = 0
    outcomes: Counter[tuple[InboundKind, InboundOutcome]] = field(default_factory=Counter)
    #: Seconds the pass spent in each stage ("fetch", "parse", "apply", "move"): where a
    #: slow pass's time goes (bench/replies.py prints them).
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    def add(self, rows: Sequence[Taken]) -> None:
        self.read += len(rows)
        self.outcomes.update((row.kind, row.outcome) for row in rows)

    def count(self, kind: InboundKind, outcome: InboundOutcome | None = None) -> int:
        return sum(n for (k, o), n in self.outcomes.items() if k == kind and outcome in (None, o))

    def summary(self) -> str:
        """ "12 read: 10 replies applied, 1 not applied, 1 bounce, 0 plain, 0 unreadable"."""
        replies = self.count(InboundKind.reply, InboundOutcome.applied)
        answers = self.count(InboundKind.reply) + self.count(InboundKind.counter)
        return (
            f"{self.read} read: {replies} replies applied, "
            f"{answers - replies} other answers (stale, stranger, closed, counter), "
            f"{self.count(InboundKind.bounce)} bounces, {self.count(InboundKind.plain)} plain, "
            f"{self.count(InboundKind.unreadable)} unreadable"
        )


def understand(raw: bytes) -> Mail:
    """`parse.understand`, which never raises by contract; should it all the same, the
    message is unreadable rather than a stop of the loop."""
    try:
        return parse.understand(raw)
    except Exception as error:  # a bug in the parser must not hold the mailbox up
        log.exception("inbound: the parser failed on a message")
        key = "sha256:" + hashlib.sha256(raw).hexdigest()
        return Mail(Envelope(key, "", "", None), Unreadable(f"parser failed: {error!r}"))


async def take_in_pass(
    mailbox: Mailbox,
    maker: SessionMaker,
    settings: Settings,
    *,
    stopping: asyncio.Event | None = None,
    now: Callable[[], datetime] = utcnow,
) -> PassReport:
    """Everything in the folder, a chunk at a time (see the module's docstring); stops
    between chunks when `stopping` is set. Raises MailboxError or a database error
    when the mailbox or the database cannot be used: the chunk in hand stays in the
    folder for the next pass.

    Two stages overlap: one fetches chunks (one FETCH ahead) and understands them, the
    other applies and commits each chunk, then moves it out while the next is applied:
    the server reads, sends and moves while this process reads and applies, so the pass
    waits for the mailbox only at its first chunk and its last move. Moves stay in
    order, each after its chunk's commit; at most two chunks wait between the stages.
    (Understanding in a helper process was tried: on 2 cores, shared with the server and
    the database, it gained about 15 % and left the helper behind when the worker was
    killed with -9.)"""
    inbound = settings.inbound
    report = PassReport()
    uids = await mailbox.uids()
    chunks = [uids[i : i + inbound.batch_size] for i in range(0, len(uids), inbound.batch_size)]
    ready: _Ready = asyncio.Queue(maxsize=2)
    async with asyncio.TaskGroup() as stages:
        stages.create_task(_fetch_and_read(mailbox, chunks, ready, report, stopping))
        stages.create_task(_apply_and_move(mailbox, maker, settings, ready, report, now))
    return report


#: Chunks fetched and understood, waiting to be applied; None: no more.
_Ready = asyncio.Queue[tuple[list[Fetched], list[Mail]] | None]


async def _fetch_and_read(
    mailbox: Mailbox,
    chunks: Sequence[Sequence[int]],
    ready: _Ready,
    report: PassReport,
    stopping: asyncio.Event | None,
) -> None:
    ahead: asyncio.Future[list[Fetched]] | None = None
    try:
        for index, chunk in enumerate(chunks):
            if stopping is not None and stopping.is_set():
                break
            began = time.perf_counter()
            fetched = await (ahead if ahead is not None else mailbox.fetch(chunk))
            ahead = None
            if index + 1 < len(chunks):  # fetched while this one is read and applied
                ahead = asyncio.ensure_future(mailbox.fetch(chunks[index + 1]))
            read_at = time.perf_counter()
            mails = [understand(message.raw) for message in fetched]
            report.seconds["fetch"] += read_at - began
            report.seconds["parse"] += time.perf_counter() - read_at
            if fetched:  # else moved by another worker meanwhile
                await ready.put((fetched, mails))
    except BaseException:
        if ahead is not None:
            ahead.cancel()  # the connection is not used again (the caller reconnects)
        raise
    if ahead is not None:  # stopped: the fetch in flight ends before the next command
        await ahead
    await ready.put(None)


async def _apply_and_move(
    mailbox: Mailbox,
    maker: SessionMaker,
    settings: Settings,
    ready: _Ready,
    report: PassReport,
    now: Callable[[], datetime],
) -> None:
    moving: asyncio.Future[None] | None = None
    try:
        while (item := await ready.get()) is not None:
            fetched, mails = item
            done = await _take_in_chunk(maker, settings, fetched, mails, report, now())
            began = time.perf_counter()
            if moving is not None:
                await moving  # in order, and a failed move stops the pass here
            moving = asyncio.ensure_future(_move(mailbox, done, settings))
            report.seconds["move"] += time.perf_counter() - began
    except BaseException:
        if moving is not None:
            moving.cancel()
        raise
    if moving is not None:
        began = time.perf_counter()
        await moving
        report.seconds["move"] += time.perf_counter() - began


async def _take_in_chunk(
    maker: SessionMaker,
    settings: Settings,
    fetched: Sequence[Fetched],
    mails: Sequence[Mail],
    report: PassReport,
    now: datetime,
) -> list[tuple[Fetched, Taken]]:
    """Applied and committed: the messages this worker is to move out."""
    began = time.perf_counter()
    recorded = await record(
        maker,
        mails,
        inbound_address=settings.inbound.address,
        secret=settings.security.secret_key,
        now=now,
    )
    report.add(recorded.rows)
    mine = [
        (message, row)
        for message, row in zip(fetched, recorded.rows, strict=True)
        if row.key not in recorded.theirs
    ]
    report.moved += len(mine)
    report.deferred += len(fetched) - len(mine)
    report.seconds["apply"] += time.perf_counter() - began
    return mine


async def _move(
    mailbox: Mailbox, done: Sequence[tuple[Fetched, Taken]], settings: Settings
) -> None:
    aside = [message.uid for message, row in done if _unreadable(row)]
    processed = [message.uid for message, row in done if not _unreadable(row)]
    await mailbox.move(processed, settings.inbound.processed_folder)
    await mailbox.move(aside, settings.inbound.unreadable_folder)


def _unreadable(row: Taken) -> bool:
    return row.kind == InboundKind.unreadable


def _unreachable(error: Exception) -> bool:
    """The database itself is in trouble (down, locked, connection dropped): no mail is
    to blame, so nothing is marked; the pass stops and is tried again."""
    if isinstance(error, IntegrityError):
        return False
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


@dataclass(frozen=True)
class Recorded:
    #: What became of each mail, in order (committed now, or before).
    rows: list[Taken]
    #: Keys another worker committed while this one was applying the same mails: that
    #: worker moves their messages.
    theirs: frozenset[str] = frozenset()


async def record(
    maker: SessionMaker,
    mails: Sequence[Mail],
    *,
    inbound_address: str,
    secret: str,
    now: datetime,
) -> Recorded:
    """The chunk's rows, committed: in one transaction, else (another worker took some of
    these in meanwhile, or one mail fails to apply) one mail per transaction."""
    theirs: frozenset[str] = frozenset()
    try:
        async with maker() as session, session.begin():
            rows = await apply.take_in_batch(
                session, mails, inbound_address=inbound_address, secret=secret, now=now
            )
            return Recorded(rows)
    except Exception as error:
        if _unreachable(error):
            raise
        if isinstance(error, IntegrityError):
            log.info("inbound: another worker took some of %s mails in; one at a time", len(mails))
            theirs = await _stored(maker, [apply.key_of(mail) for mail in mails])
        else:
            log.warning(
                "inbound: a chunk of %s mails failed (%r); one at a time", len(mails), error
            )
    rows = [
        await _record_one(maker, mail, inbound_address=inbound_address, secret=secret, now=now)
        for mail in mails
    ]
    return Recorded(rows, theirs)


async def _stored(maker: SessionMaker, keys: Sequence[str]) -> frozenset[str]:
    """Which of these keys are stored (by parts: SQLite takes at most 999 values)."""
    found: set[str] = set()
    unique = sorted(set(keys))
    async with maker() as session:
        for start in range(0, len(unique), KEYS_PER_QUERY):
            part = unique[start : start + KEYS_PER_QUERY]
            query = select(col(InboundMail.key)).where(col(InboundMail.key).in_(part))
            found.update(await session.scalars(query))
    return frozenset(found)


async def _record_one(
    maker: SessionMaker, mail: Mail, *, inbound_address: str, secret: str, now: datetime
) -> Taken:
    failure: Exception | None = None
    for _ in range(COLLISION_TRIES):
        try:
            async with maker() as session, session.begin():
                (taken,) = await apply.take_in_batch(
                    session, [mail], inbound_address=inbound_address, secret=secret, now=now
                )
                return taken
        except IntegrityError as error:
            failure = error  # committed by the other worker meanwhile: found next time
        except Exception as error:
            if _unreachable(error):
                raise
            failure = error
            break
    log.error("inbound: mail %s could not be applied: %r", mail.envelope.key, failure)
    envelope = mail.envelope
    kept = Envelope(envelope.key, envelope.sender[:254], envelope.subject[:500], envelope.date)
    aside = Mail(kept, Unreadable(f"could not be applied: {failure!r}"[:2000]))
    async with maker() as session, session.begin():
        (taken,) = await apply.take_in_batch(
            session, [aside], inbound_address=inbound_address, secret=secret, now=now
        )
        return taken
