"""The scheduler with a clock the tests move: plans follow the sessions, each reminder is
queued once, missed ones are sent before the start and skipped after it."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from meetings.core.settings import Settings
from meetings.core.signals import Signals
from meetings.core.store import create_engine, session_maker, utcnow
from meetings.planning import lifecycle as planning
from meetings.planning import rsvp
from meetings.planning.models import MeetingCreate, MeetingStatus, MeetingUpdate
from meetings.register.models import ContactIn, ContactRole
from notify.mail.models import Message, MessageKind, MessageStatus
from scheduler import service as scheduler_service
from scheduler.plan import Action, plan
from scheduler.service import SchedulerService
from tests.conftest import make_settings
from tests.factories import make_site

START = datetime(2030, 4, 19, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def scheduler_settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url, scheduler={"enabled": True})


@pytest.fixture
def app_signals() -> Signals:
    """The receivers the sessions below carry, as an app's would (a service joins them)."""
    return Signals()


@pytest.fixture
async def maker(scheduler_settings: Settings, app_signals: Signals) -> AsyncIterator[Any]:
    engine = create_engine(scheduler_settings.database)
    yield session_maker(engine, signals=app_signals)
    await engine.dispose()


@pytest.fixture
async def world(maker: Any) -> dict[str, Any]:
    """Three sites: one accepts, one declines, one does not answer; a scheduled session."""
    async with maker() as session, session.begin():
        sites = [
            await make_site(
                session,
                name=f"Liên hiệp {name}",
                contacts=[
                    ContactIn(name=f"Chủ tịch {name}", email=f"ct.{name}@example.org"),
                    ContactIn(
                        name=f"Kỹ thuật {name}",
                        email=f"kt.{name}@example.org",
                        role=ContactRole.technical,
                    ),
                ],
            )
            for name in ("vinhphuc", "kiengiang", "laocai")
        ]
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Giao ban quý II",
                starts_at=START,
                ends_at=START + timedelta(hours=3),
                site_ids=[s.id for s in sites],
            ),
            organiser_id=None,
            default_location="Hội trường",
        )
        await planning.change_status(session, meeting.id, MeetingStatus.scheduled)
        await rsvp.answer(
            session, meeting.id, sites[0].id, rsvp.RsvpIn(response="accepted", expected_delegates=9)
        )
        await rsvp.answer(session, meeting.id, sites[1].id, rsvp.RsvpIn(response="declined"))
    return {"sites": sites, "meeting_id": meeting.id}


async def started(
    maker: Any, settings: Settings, clock: Clock, signals: Signals | None = None
) -> SchedulerService:
    service = SchedulerService(maker, settings, clock=clock, signals=signals)
    await service.start()
    return service


def meeting_jobs(service: SchedulerService, meeting_id: int) -> dict[str, datetime]:
    prefix = f"meeting:{meeting_id}:"
    return {k.split(":")[2]: v for k, v in service.stored().items() if k.startswith(prefix)}


async def messages(maker: Any, kind: MessageKind) -> list[Message]:
    async with maker() as session:
        return list(
            (
                await session.scalars(
                    select(Message).where(Message.kind == kind).order_by(Message.recipient)
                )
            ).all()
        )


def test_the_plan_follows_the_configuration(scheduler_settings: Settings):
    from meetings.planning.models import Meeting

    meeting = Meeting(
        id=7,
        title="x",
        starts_at=START,
        ends_at=START + timedelta(hours=3),
        status=MeetingStatus.scheduled,
    )
    dues = {(d.action, d.at) for d in plan(meeting, scheduler_settings.scheduler)}
    assert dues == {
        (Action.rsvp_chaser, START - timedelta(days=3)),
        (Action.reminder, START - timedelta(days=1)),
        (Action.reminder, START - timedelta(hours=1)),
        (Action.rehearsal, START - timedelta(minutes=30)),
        (Action.go_live, START),
        (Action.end, START + timedelta(hours=3)),
    }
    meeting.rehearsal_minutes = 0  # this session has no rehearsal
    assert Action.rehearsal not in {d.action for d in plan(meeting, scheduler_settings.scheduler)}
    meeting.status = MeetingStatus.draft
    assert plan(meeting, scheduler_settings.scheduler) == []


async def test_jobs_move_with_the_session_and_vanish_when_cancelled(
    maker: Any, scheduler_settings: Settings, world: dict[str, Any], app_signals: Signals
):
    clock = Clock(START - timedelta(days=10))
    service = await started(maker, scheduler_settings, clock, app_signals)
    try:
        mid = world["meeting_id"]
        stored = meeting_jobs(service, mid)
        assert stored["reminder"] in (START - timedelta(days=1), START - timedelta(hours=1))
        assert set(stored) == {"reminder", "rsvp_chaser", "rehearsal", "go_live", "end"}
        reminders = sorted(
            v for k, v in service.stored().items() if k.startswith(f"meeting:{mid}:reminder")
        )
        assert reminders == [START - timedelta(days=1), START - timedelta(hours=1)]

        later = START + timedelta(days=1)
        async with maker() as session, session.begin():
            row = await planning.get_meeting_row(session, mid)
            await planning.update_meeting(
                session,
                mid,
                MeetingUpdate(
                    version=row.version, starts_at=later, ends_at=later + timedelta(hours=3)
                ),
            )
        await service.settle()  # re-planned once the change committed
        reminders = sorted(
            v for k, v in service.stored().items() if k.startswith(f"meeting:{mid}:reminder")
        )
        assert reminders == [later - timedelta(days=1), later - timedelta(hours=1)]

        async with maker() as session, session.begin():
            await planning.cancel_meeting(session, mid, reason="Hoãn")
        await service.settle()
        assert meeting_jobs(service, mid) == {}
    finally:
        await service.stop()


async def test_an_emptied_job_store_is_rebuilt_at_start(
    maker: Any, scheduler_settings: Settings, world: dict[str, Any]
):
    clock = Clock(START - timedelta(days=10))
    first = await started(maker, scheduler_settings, clock)
    before = meeting_jobs(first, world["meeting_id"])
    await asyncio.to_thread(first.store.remove_all_jobs)  # the store is lost
    await first.stop()
    second = await started(maker, scheduler_settings, clock)
    try:
        assert meeting_jobs(second, world["meeting_id"]) == before
        assert len(before) == 5
    finally:
        await second.stop()


async def test_two_schedulers_queue_each_reminder_once(
    maker: Any, scheduler_settings: Settings, world: dict[str, Any]
):
    clock = Clock(START - timedelta(hours=1))
    one = SchedulerService(maker, scheduler_settings, clock=clock)
    two = SchedulerService(maker, scheduler_settings, clock=clock)
    mid = world["meeting_id"]
    async with maker() as session:
        _, dues = await scheduler_service.actions.load_plan(
            session, mid, scheduler_settings.scheduler, now=clock()
        )
    (due,) = [d for d in dues if d.action == Action.reminder and d.at == clock()]
    outcomes = await asyncio.gather(*(s.execute(due) for s in (one, two, one, two)))
    assert "queued 4, skipped 0" in outcomes  # 2 sites (accepted, no answer) × 2 contacts
    sent = await messages(maker, MessageKind.reminder)
    assert [m.recipient for m in sent] == [
        "ct.laocai@example.org",
        "ct.vinhphuc@example.org",
        "kt.laocai@example.org",
        "kt.vinhphuc@example.org",
    ]  # the site that declined hears nothing


async def test_a_missed_reminder_is_sent_before_the_start_and_skipped_after(
    maker: Any, scheduler_settings: Settings, world: dict[str, Any]
):
    mid = world["meeting_id"]
    # The service was down from before the 1-day reminder until 40 minutes before the start.
    clock = Clock(START - timedelta(minutes=40))
    service = await started(maker, scheduler_settings, clock)
    await service.stop()
    # Both reminders were missed: the latest goes out, the day-before one is recorded.
    reminders = await messages(maker, MessageKind.reminder)
    status = {(m.send_after, m.status) for m in reminders}
    assert status == {
        (START - timedelta(days=1), MessageStatus.skipped),
        (START - timedelta(hours=1), MessageStatus.queued),
    }
    chasers = await messages(maker, MessageKind.rsvp_chaser)
    assert [m.recipient for m in chasers] == ["ct.laocai@example.org", "kt.laocai@example.org"]
    assert {m.status for m in chasers} == {MessageStatus.queued}

    # Down again until after the start: the rehearsal notice came too late.
    clock.now = START + timedelta(minutes=5)
    service = await started(maker, scheduler_settings, clock)
    await service.stop()
    rehearsal = await messages(maker, MessageKind.rehearsal)
    assert {m.recipient for m in rehearsal} == {"kt.laocai@example.org", "kt.vinhphuc@example.org"}
    assert {m.status for m in rehearsal} == {MessageStatus.skipped}
    assert "had started" in rehearsal[0].last_error
    async with maker() as session:
        assert (await planning.get_meeting_row(session, mid)).status == MeetingStatus.live

    # Started again after the end: the session ends (and is not re-run a second time).
    clock.now = START + timedelta(hours=4)
    for _ in range(2):
        service = await started(maker, scheduler_settings, clock)
        await service.stop()
    async with maker() as session:
        assert (await planning.get_meeting_row(session, mid)).status == MeetingStatus.ended
    assert len(await messages(maker, MessageKind.reminder)) == 8  # 2 reminders × 4, once each


async def test_the_session_page_shows_the_timeline(client: Any, session_factory: Any):
    from meetings.accounts.models import Role
    from tests.factories import login, make_user

    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        site = await make_site(session)
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Giao ban quý II",
                starts_at=START,
                ends_at=START + timedelta(hours=3),
                site_ids=[site.id],
                rehearsal_minutes=45,
            ),
            organiser_id=None,
            default_location="Hội trường",
        )
        await planning.change_status(session, meeting.id, MeetingStatus.scheduled)
    await login(client, "org")
    page = await (await client.get(f"/sessions/{meeting.id}")).text()
    timeline = page[page.index('data-testid="timeline"') :]
    actions = [a.split('"')[0] for a in timeline.split('data-action="')[1:]]
    assert actions == ["rsvp_chaser", "reminder", "reminder", "rehearsal", "go_live", "end"]
    assert "07:15" in timeline  # the rehearsal 45 minutes before 08:00 (this session's own)
    assert "Thông báo chạy thử kỹ thuật tới cán bộ kỹ thuật" in timeline


async def test_two_services_in_one_process_each_run_their_own_jobs(
    tmp_path: Path, sqlite_template: Path
):
    """Each app's scheduler runs the jobs it planned against its own database."""
    services, engines = [], []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        database = tmp_path / name / "giaoban.sqlite3"
        shutil.copy(sqlite_template, database)
        settings = make_settings(
            tmp_path / name, f"sqlite+aiosqlite:///{database}", scheduler={"enabled": True}
        )
        engines.append(create_engine(settings.database))
        maker = session_maker(engines[-1])
        start = utcnow() + timedelta(seconds=1)
        async with maker() as session, session.begin():
            site = await make_site(session)
            meeting = await planning.create_meeting(
                session,
                MeetingCreate(
                    title="Giao ban",
                    starts_at=start,
                    ends_at=start + timedelta(hours=1),
                    site_ids=[site.id],
                ),
                organiser_id=None,
                default_location="Hội trường",
            )
            await planning.change_status(session, meeting.id, MeetingStatus.scheduled)
        service = SchedulerService(maker, settings)
        await service.start()
        services.append(service)

    async def statuses() -> list[str]:
        found = []
        for service in services:
            async with service.maker() as session:
                found.append((await planning.get_meeting_row(session, 1)).status)
        return found

    try:  # both go_live jobs (session 1 in each database) come due within a second or two
        for _ in range(100):
            if await statuses() == [MeetingStatus.live] * 2:
                break
            await asyncio.sleep(0.1)
        assert await statuses() == [MeetingStatus.live] * 2
    finally:
        for service in services:
            await service.stop()
        for engine in engines:
            await engine.dispose()
