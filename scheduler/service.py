"""APScheduler 3 (AsyncIOScheduler, SQLAlchemy job store) keeping the sessions' rhythm.

The sessions are the source of truth; the job store is a cache of their plans. Start-up
reconciles every open session (so an empty or stale store loses nothing), each change
re-plans its session once the change has committed, and every job checks the current
plan again before acting. A job that came due while nothing ran is done at start-up if
it still makes sense (its action decides: a reminder after the start is recorded as
skipped), and dropped if its time had already passed when it was planned.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.errors import Conflict
from meetings.core.settings import Settings
from meetings.core.signals import Signals
from meetings.core.store import SessionMaker, after_commit, key_col, utcnow
from meetings.planning.models import Meeting, MeetingStatus
from notify.mail import claims
from notify.mail.models import Message, MessageStatus
from scheduler import actions
from scheduler.plan import MESSAGES, Action, Due, job_prefix

log = logging.getLogger(__name__)
JOB_FUNCTION = "scheduler.service:run_job"
TABLE = "apscheduler_jobs"
RECONCILE_EVERY = timedelta(minutes=10)
Clock = Callable[[], datetime]
#: A chaser: (session, now) → how many e-mails it queued. The composition root lists them
#: (overdue action items, late reports); the scheduler runs each in its own transaction
#: every `[scheduler] chase_interval_minutes`, and each decides what is due (working days,
#: its hour) and claims it so that two scheduler processes chase once.
Chaser = Callable[[AsyncSession, datetime], Awaitable[int]]

#: The service whose scheduler runs the current job: jobs are stored as a function name
#: and plain arguments, so the running job finds its database and settings here (set by
#: that service's executor for the job's task alone; two services never mix).
_running: ContextVar[SchedulerService | None] = ContextVar("scheduler_service", default=None)


class _Executor(AsyncIOExecutor):
    """APScheduler's asyncio executor, running each job with its own service in context."""

    def __init__(self, service: SchedulerService) -> None:
        super().__init__()
        self.service = service

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> Any:
        token = _running.set(self.service)
        try:  # the job's task copies the context as it is created, here
            return super()._do_submit_job(job, run_times)
        finally:
            _running.reset(token)


async def run_job(meeting_id: int, action: str, at: str, lead_seconds: float | None) -> None:
    """The one job function APScheduler stores (picklable: a name and plain values)."""
    service = _running.get()
    if service is None:
        log.warning("a job for session %s ran with no scheduler service", meeting_id)
        return
    lead = timedelta(seconds=lead_seconds) if lead_seconds is not None else None
    await service.execute(Due(datetime.fromisoformat(at), Action(action), meeting_id, lead))


async def retry_outbox() -> None:
    if (service := _running.get()) is not None:
        await service.retry_outbox()


async def reconcile_all() -> None:
    if (service := _running.get()) is not None:
        await service.reconcile()


async def run_chasers() -> None:
    if (service := _running.get()) is not None:
        await service.chase()


class SchedulerService:
    def __init__(
        self,
        maker: SessionMaker,
        settings: Settings,
        *,
        wake: Callable[[], None] = lambda: None,
        clock: Clock = utcnow,
        signals: Signals | None = None,
        chasers: Sequence[Chaser] = (),
    ) -> None:
        self.maker = maker
        self.chasers = tuple(chasers)
        self.signals = signals
        self.settings = settings
        self.config = settings.scheduler
        self.wake = wake
        self.clock = clock
        if self.config.jobstore_url.startswith("sqlite:///"):
            Path(self.config.jobstore_url[len("sqlite:///") :]).parent.mkdir(
                parents=True, exist_ok=True
            )
        self.store = SQLAlchemyJobStore(url=self.config.jobstore_url, tablename=TABLE)
        self.scheduler = AsyncIOScheduler(
            jobstores={"default": self.store},
            executors={"default": _Executor(self)},
            timezone=UTC,
            # Late jobs still run (the action decides what lateness means); a job store
            # entry is never silently dropped for being late.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._pending: set[int] = set()
        self._sync_task: asyncio.Task[None] | None = None

    # --- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start with the running loop (APScheduler needs it), then rebuild every plan."""
        if self.signals is not None:  # the app's changes re-plan their sessions
            self.signals.meeting_changed.connect(self.meeting_changed)
        self.scheduler.start()
        every = {
            "outbox:retry": ("retry_outbox", self.config.retry_interval_seconds),
            "scheduler:reconcile": ("reconcile_all", RECONCILE_EVERY.total_seconds()),
        }
        if self.chasers:
            every["scheduler:chase"] = ("run_chasers", self.config.chase_interval_minutes * 60)
        for job_id, (function, seconds) in every.items():
            self.scheduler.add_job(
                f"scheduler.service:{function}",
                "interval",
                seconds=seconds,
                id=job_id,
                replace_existing=True,
            )
        await self.reconcile()

    async def stop(self) -> None:
        if self.signals is not None:
            self.signals.meeting_changed.disconnect(self.meeting_changed)
        if self._sync_task is not None:
            await asyncio.gather(self._sync_task, return_exceptions=True)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    # --- planning -----------------------------------------------------------------------

    async def meeting_changed(self, session: AsyncSession, meeting_id: int) -> None:
        """The receiver of the app's `meeting_changed` while this service runs."""
        self.note_change(session, meeting_id)

    def note_change(self, session: AsyncSession, meeting_id: int) -> None:
        """Re-plan `meeting_id` once the caller's transaction commits."""
        after_commit(session, lambda: self.replan(meeting_id))

    def replan(self, meeting_id: int) -> None:
        """Re-plan `meeting_id` soon (a committed change: this process's, or another
        instance's, heard by scheduler.leader)."""
        self._pending.add(meeting_id)
        if self._sync_task is None or self._sync_task.done():
            self._sync_task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # let the committing request finish first
        while self._pending:
            meeting_id = self._pending.pop()
            try:
                await self.sync(meeting_id)
            except Exception:
                log.exception(
                    "re-planning session %s failed; the next reconcile retries", meeting_id
                )

    async def reconcile(self) -> int:
        """Re-plan every open session and drop jobs of sessions that plan nothing."""
        async with self.maker() as session:
            ids = set(
                (
                    await session.scalars(
                        select(key_col(Meeting.id)).where(
                            or_(
                                col(Meeting.status).in_(
                                    (MeetingStatus.scheduled, MeetingStatus.live)
                                ),
                                col(Meeting.id).in_(
                                    select(col(Message.meeting_id)).where(
                                        col(Message.status) == MessageStatus.queued
                                    )
                                ),
                            )
                        )
                    )
                ).all()
            )
        for meeting_id in sorted(ids):
            await self.sync(meeting_id)
        stored = await asyncio.to_thread(self._stored_meeting_ids)
        for meeting_id in stored - ids:
            await asyncio.to_thread(self._remove_jobs, meeting_id, set())
        return len(ids)

    async def planned(self, meeting_id: int) -> tuple[Meeting | None, list[Due]]:
        async with self.maker() as session:
            return await actions.load_plan(session, meeting_id, self.config, now=self.clock())

    async def sync(self, meeting_id: int) -> list[Due]:
        """Make the stored jobs of one session equal its plan; do what was missed."""
        meeting, dues = await self.planned(meeting_id)
        now = self.clock()
        future = [d for d in dues if d.at > now]
        await asyncio.to_thread(self._remove_jobs, meeting_id, {d.job_id for d in future})
        for due in future:
            # In a thread: the store is synchronous, and the loop must stay free for the
            # transactions it would otherwise wait on (APScheduler's add_job is locked).
            await asyncio.to_thread(
                self.scheduler.add_job,
                JOB_FUNCTION,
                "date",
                run_date=due.at,
                args=[
                    due.meeting_id,
                    due.action.value,
                    due.at.isoformat(),
                    due.lead.total_seconds() if due.lead else None,
                ],
                id=due.job_id,
                name=f"{due.action} · session {meeting_id}",
                replace_existing=True,
            )
        if meeting is not None:
            # Came due while nothing ran, after it was planned: do it now (its action
            # knows whether it is still worth doing). Due before the last change of the
            # session, it was never planned at that time: nothing is owed. Of several
            # missed reminders only the latest goes out; the others are recorded as
            # skipped, so a site does not get the day-before and hour-before at once.
            missed = [d for d in dues if meeting.updated_at < d.at <= now]
            latest = {d.action: d for d in missed}  # dues are in time order
            for due in missed:
                superseded = due.action in MESSAGES and latest[due.action] is not due
                await self.execute(due, superseded=superseded)
        return future

    def _stored_meeting_ids(self) -> set[int]:
        found = set()
        for job in self.store.get_all_jobs():
            if job.id.startswith("meeting:"):
                found.add(int(job.id.split(":")[1]))
        return found

    def _remove_jobs(self, meeting_id: int, keep: set[str]) -> None:
        table = self.store.jobs_t
        with self.store.engine.begin() as connection:
            connection.execute(
                table.delete().where(
                    table.c.id.like(job_prefix(meeting_id) + "%"),
                    table.c.id.not_in(keep) if keep else table.c.id.isnot(None),
                )
            )
        self.scheduler.wakeup()  # the scheduler recomputes its next wake-up from the store

    # --- doing --------------------------------------------------------------------------

    async def execute(self, due: Due, *, superseded: bool = False) -> str:
        try:
            async with self.maker() as session, session.begin():
                outcome = await actions.run(
                    session, due, self.config, now=self.clock(), superseded=superseded
                )
        except Conflict:
            outcome = "done by another process"
        log.info(
            "scheduler: %s of session %s at %s: %s", due.action, due.meeting_id, due.at, outcome
        )
        if outcome != "stale":
            self.wake()
        return outcome

    async def retry_outbox(self) -> None:
        lease = timedelta(seconds=self.settings.mail.lease_seconds)
        released = await claims.release_stale(self.maker, now=self.clock(), stale_after=lease)
        if released:
            log.info("scheduler: %s interrupted deliveries queued again", released)
        self.wake()

    async def chase(self) -> int:
        """Run every chaser once, each in its own transaction: one failing (logged) keeps
        neither its claims nor its mail, and the others go on. Returns the e-mails queued."""
        queued = 0
        for chaser in self.chasers:
            try:
                async with self.maker() as session, session.begin():
                    queued += await chaser(session, self.clock())
            except Exception:
                log.exception("scheduler: a chaser failed; its next run tries again")
        if queued:
            log.info("scheduler: chasers queued %s e-mails", queued)
            self.wake()
        return queued

    async def settle(self) -> None:
        """Wait until the re-planning of committed changes is done (tests, shutdown)."""
        while self._sync_task is not None and not self._sync_task.done():
            await asyncio.gather(self._sync_task, return_exceptions=True)

    def stored(self) -> dict[str, datetime | None]:
        """Job id → next run time, as the store has them."""
        return {j.id: j.next_run_time for j in self.store.get_all_jobs()}


def stored_jobs(url: str) -> list[tuple[str, str, datetime | None]]:
    """(id, name, next run) of the stored jobs, for `giaoban jobs` (no scheduler needed)."""
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        return []  # no scheduler has run here yet
    store = SQLAlchemyJobStore(url=url, tablename=TABLE)
    store.start(None, "default")
    try:
        rows = [(j.id, j.name, j.next_run_time) for j in store.get_all_jobs()]
    finally:
        store.shutdown()
    never = datetime.max.replace(tzinfo=UTC)
    return sorted(rows, key=lambda r: r[2] or never)
