"""Overdue action items chased by the scheduler: on working days only (not a weekend, not
a Vietnamese public holiday), from the configured hour, once per item however many
scheduler processes run, again only after N working days; the owner is a site (its
reachable contacts), a cluster (its leading site's) or a unit (its configured e-mail)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from agendas.record import record
from agendas.record.models import ActionChange, ActionItemIn, ActionStatus
from meetings.core.app import receivers
from meetings.core.settings import Settings
from meetings.core.store import create_engine, session_maker
from meetings.planning.workdays import is_working_day
from meetings.register.models import Contact, ContactIn
from notify.mail import outbox, overdue_actions, transports
from notify.mail.models import Message, MessageKind
from notify.mail.render import make_renderer
from scheduler.service import SchedulerService
from tests.conftest import make_settings
from tests.factories import make_cluster, make_scheduled_meeting, make_site
from tests.notify.mail import test_outbox
from tests.notify.mail.test_outbox import Sink
from tests.scheduler.test_scheduler import Clock

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
STARTS = datetime(2030, 4, 19, 1, 0, tzinfo=UTC)  # Friday 19/4/2030, 08:00 in Hà Nội


#: The outbox tests' real SMTP server and its port, as fixtures of this module too.
sink, smtp_port = test_outbox.sink, test_outbox.smtp_port


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=HANOI)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_port: int) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        mail={"mode": "smtp", "smtp_host": "127.0.0.1", "smtp_port": smtp_port},
        office={
            "units": [
                {"name": "Ban Tổ chức", "email": "btc@lienhiep.vn"},
                {"name": "Văn phòng"},
            ]
        },
    )


@pytest.fixture
async def maker(settings: Settings) -> AsyncIterator[Any]:
    engine = create_engine(settings.database)
    yield session_maker(engine, signals=receivers())
    await engine.dispose()


async def _world(maker: Any) -> dict[str, int]:
    """A session on Friday 19/4/2030 with items due Monday 22/4: one per kind of owner,
    one not yet due and one done."""
    async with maker() as session, session.begin():
        vp = await make_site(
            session,
            name="Liên hiệp Vĩnh Phúc",
            contacts=[
                ContactIn(name="Hà", email="ha@vp.vn"),
                ContactIn(name="Trả về", email="bounced@vp.vn"),
            ],
        )
        kg = await make_site(session, contacts=[ContactIn(name="Minh", email="minh@kg.vn")])
        south = await make_cluster(session, name="Cụm miền Nam", leader_site_id=kg.id)
        await session.execute(
            update(Contact)
            .where(col(Contact.email) == "bounced@vp.vn")
            .values(bounced_at=STARTS, bounce_reason="5.1.1 user unknown")
        )
        meeting_id = await make_scheduled_meeting(
            session, starts_at=STARTS, site_ids=[vp.id, kg.id], title="Giao ban quý I"
        )
        due = date(2030, 4, 22)
        items = {
            "site": ActionItemIn(text="Báo cáo thi đua", owner_site_id=vp.id, due_date=due),
            "cluster": ActionItemIn(text="Họp cụm", owner_cluster_id=south.id, due_date=due),
            "unit": ActionItemIn(text="Dự thảo kế hoạch", owner="ban tổ chức", due_date=due),
            "nobody": ActionItemIn(text="Rà soát hồ sơ", owner="Văn phòng", due_date=due),
            "later": ActionItemIn(text="Tổng kết năm", owner_site_id=vp.id, due_working_days=30),
            "done": ActionItemIn(
                text="Đã xong", owner_site_id=vp.id, due_date=due, status=ActionStatus.done
            ),
        }
        ids = {k: (await record.add_action(session, meeting_id, v)).id for k, v in items.items()}
    return ids


async def _chased(maker: Any) -> list[Message]:
    async with maker() as session:
        rows = await session.scalars(
            select(Message)
            .where(col(Message.kind) == MessageKind.action_chase)
            .order_by(col(Message.id))
        )
        return list(rows.all())


async def test_overdue_owners_are_chased_once_on_working_days_only(
    maker: Any, settings: Settings, sink: Sink
) -> None:
    ids = await _world(maker)
    clock = Clock(at(date(2030, 4, 27), 9))  # Saturday
    chaser = partial(overdue_actions.chase_overdue_actions, settings=settings)
    one = SchedulerService(maker, settings, clock=clock, chasers=[chaser])
    two = SchedulerService(maker, settings, clock=clock, chasers=[chaser])
    assert not is_working_day(clock.now.date())
    assert await one.chase() == 0
    clock.now = at(date(2030, 4, 29), 7, 30)  # Monday, before the office's hour
    assert await one.chase() == 0
    clock.now = at(date(2030, 4, 30), 9)  # Reunification Day, a public holiday
    assert not is_working_day(clock.now.date()) and clock.now.weekday() == 1
    assert await one.chase() == 0
    assert await _chased(maker) == []

    # Monday 29/4 at 09:00: two scheduler processes, one mail to each owner's address.
    clock.now = at(date(2030, 4, 29), 9)
    assert await one.chase() + await two.chase() == 3
    assert await one.chase() == 0  # the same day again: nothing more
    sent = await _chased(maker)
    by_item = {m.action_item_id: m.recipient for m in sent}
    assert by_item == {
        ids["site"]: "ha@vp.vn",
        ids["cluster"]: "minh@kg.vn",
        ids["unit"]: "btc@lienhiep.vn",
    }
    async with maker() as session:
        history = (
            await session.scalars(
                select(ActionChange).where(col(ActionChange.by).like("scheduler:%"))
            )
        ).all()
    assert {(h.action_item_id, h.by) for h in history} == {
        (ids["site"], overdue_actions.REMINDED),
        (ids["cluster"], overdue_actions.REMINDED),
        (ids["unit"], overdue_actions.REMINDED),
        (ids["nobody"], overdue_actions.NO_ADDRESS),
    }

    # Delivered through the real SMTP server, in Vietnamese, with the site's page.
    report = await outbox.deliver_due(
        maker, transports.SmtpTransport(settings.mail), make_renderer(settings), now=clock
    )
    assert report.sent == 3
    subjects = sorted(str(m["Subject"]) for m in sink.received)
    assert subjects[0].startswith("[Việc quá hạn]")
    site_mail = next(m for m in sink.received if m["To"].addresses[0].username == "ha")
    body = site_mail.get_body(("plain",)).get_content()
    assert "Báo cáo thi đua" in body and "22/04/2030" in body and "/s/" in body

    # Not again before 5 working days (Thursday 2/5 … Wednesday 8/5, holidays skipped).
    clock.now = at(date(2030, 5, 7), 16)
    assert await one.chase() == 0
    clock.now = at(date(2030, 5, 8), 8, 5)
    assert await two.chase() == 3
    assert len(await _chased(maker)) == 6


async def test_a_done_or_rescheduled_item_is_not_chased(maker: Any, settings: Settings) -> None:
    ids = await _world(maker)
    now = at(date(2030, 4, 29), 10)
    async with maker() as session, session.begin():
        for key in ("site", "cluster", "unit", "nobody"):
            await session.execute(
                update(overdue_actions.ActionItem)
                .where(col(overdue_actions.ActionItem.id) == ids[key])
                .values(status=ActionStatus.done if key != "site" else ActionStatus.in_progress)
            )
        # In progress but still overdue: chased; the others are done.
        queued = await overdue_actions.chase_overdue_actions(session, now, settings=settings)
    assert queued == 1
    assert [m.action_item_id for m in await _chased(maker)] == [ids["site"]]
