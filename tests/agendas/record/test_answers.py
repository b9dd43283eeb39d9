"""Answered recommendations: routed to a unit, mailed to the site that raised them, and
counted per cluster (raised, answered, median days to answer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlmodel import col

from agendas.record import recommendations, record
from agendas.record.models import (
    ContributionIn,
    ContributionKind,
    Recommendation,
    RecommendationStatus,
    RecommendationUpdate,
)
from meetings.accounts.models import Role
from meetings.core.app import receivers
from meetings.core.errors import Invalid
from meetings.core.settings import DatabaseSettings, Settings
from meetings.core.store import create_engine, session_maker
from meetings.register.models import Contact, ContactIn
from notify.mail.models import Message, MessageKind
from notify.mail.render import make_renderer
from tests.factories import login, make_cluster, make_scheduled_meeting, make_site, make_user

STARTS = datetime(2030, 4, 19, 1, 0, tzinfo=UTC)


@pytest.fixture
async def maker(database_url: str) -> AsyncIterator[Any]:
    """Sessions wired as the app wires them: an answer reaches notify through the signal."""
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    yield session_maker(engine, signals=receivers())
    await engine.dispose()


async def _raise(session: Any, meeting_id: int, site_id: int | None, text: str) -> int:
    await record.add_contribution(
        session,
        meeting_id,
        ContributionIn(
            site_id=site_id, kind=ContributionKind.recommendation, text=text, topic="Kinh phí"
        ),
        source="secretary",
        author="Thư ký",
    )
    found = await session.scalar(select(col(Recommendation.id)).where(Recommendation.text == text))
    assert found is not None
    return int(found)


def _answer(text: str, **fields: Any) -> RecommendationUpdate:
    return RecommendationUpdate(
        status=RecommendationStatus.answered, response=text, answered_by="Ban Tổ chức", **fields
    )


async def test_an_answer_is_mailed_once_to_each_reachable_contact_of_the_site(
    maker: Any, settings: Settings
) -> None:
    async with maker() as session, session.begin():
        kg = await make_site(
            session,
            name="Liên hiệp Kiên Giang",
            locale="en",
            contacts=[
                ContactIn(name="Hà", email="ha@kg.vn"),
                ContactIn(name="Hà (trùng)", email="HA@kg.vn"),
                ContactIn(name="Minh", email="minh@kg.vn"),
                ContactIn(name="Trả về", email="bounced@kg.vn"),
            ],
        )
        other = await make_site(session, contacts=[ContactIn(name="Lan", email="lan@vp.vn")])
        await session.execute(
            update(Contact)
            .where(col(Contact.email) == "bounced@kg.vn")
            .values(bounced_at=STARTS, bounce_reason="5.1.1 user unknown")
        )
        meeting_id = await make_scheduled_meeting(
            session, starts_at=STARTS, site_ids=[kg.id, other.id], title="Giao ban quý I"
        )
        rec_id = await _raise(session, meeting_id, kg.id, "Đề nghị hỗ trợ kinh phí Ngày hữu nghị.")
        await recommendations.update_recommendation(
            session, rec_id, _answer("Trung ương cấp 50 triệu đồng trong quý II.")
        )
    async with maker() as session:
        sent = (
            await session.scalars(
                select(Message).where(col(Message.kind) == MessageKind.recommendation_answer)
            )
        ).all()
        assert sorted(m.recipient for m in sent) == ["ha@kg.vn", "minh@kg.vn"]
        assert {m.recommendation_id for m in sent} == {rec_id}
        outgoing = await make_renderer(settings).render_one(session, sent[0])
    mail = message_from_bytes(outgoing.data, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert not any(p.get_content_type() == "text/calendar" for p in mail.walk())
    body = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_content()
    assert "Trung ương cấp 50 triệu đồng trong quý II." in body
    assert "Đề nghị hỗ trợ kinh phí Ngày hữu nghị." in body
    assert str(mail["Subject"]) == "[Answer to your recommendation] Kinh phí"  # its language

    # Saving the same answer again (or only its unit) mails nothing more.
    async with maker() as session, session.begin():
        await recommendations.update_recommendation(
            session,
            rec_id,
            _answer("Trung ương cấp 50 triệu đồng trong quý II.", assigned_unit="Ban Tài chính"),
        )
    async with maker() as session:
        count = len(
            (
                await session.scalars(
                    select(Message).where(col(Message.kind) == MessageKind.recommendation_answer)
                )
            ).all()
        )
        assert count == 2
        (routed,) = await recommendations.recommendations(session, unit="Ban Tài chính")
        assert routed.assigned_unit == "Ban Tài chính" and routed.id == rec_id
        assert await recommendations.recommendations(session, unit="Ban Đối ngoại") == []


async def test_a_closed_or_hall_recommendation_mails_no_one(maker: Any) -> None:
    async with maker() as session, session.begin():
        kg = await make_site(session, contacts=[ContactIn(name="Hà", email="ha@kg.vn")])
        meeting_id = await make_scheduled_meeting(session, starts_at=STARTS, site_ids=[kg.id])
        hall = await _raise(session, meeting_id, None, "Đề nghị của hội trường.")
        closed = await _raise(session, meeting_id, kg.id, "Đề nghị đã rút.")
        await recommendations.update_recommendation(session, hall, _answer("Đã xử lý."))
        await recommendations.update_recommendation(
            session, closed, RecommendationUpdate(status=RecommendationStatus.closed)
        )
        with pytest.raises(Invalid):  # an answer without text: nothing saved, nothing queued
            await recommendations.update_recommendation(session, closed, _answer("  "))
    async with maker() as session:
        assert (
            await session.scalars(
                select(Message).where(col(Message.kind) == MessageKind.recommendation_answer)
            )
        ).all() == []


async def test_numbers_per_cluster(maker: Any) -> None:
    async with maker() as session, session.begin():
        north = await make_cluster(session, name="Cụm miền Bắc")
        south = await make_cluster(session, name="Cụm miền Nam")
        vp = await make_site(session, cluster_id=north.id)
        hn = await make_site(session, cluster_id=north.id)
        kg = await make_site(session, cluster_id=south.id)
        meeting_id = await make_scheduled_meeting(
            session, starts_at=STARTS, site_ids=[vp.id, hn.id, kg.id]
        )
        ids = {
            key: await _raise(session, meeting_id, site, f"Kiến nghị {key}")
            for key, site in (("vp", vp.id), ("hn", hn.id), ("hn2", hn.id), ("kg", kg.id))
        }
        for key in ("vp", "hn", "kg"):
            await recommendations.update_recommendation(session, ids[key], _answer("Trả lời"))
        raised = datetime(2030, 4, 19, tzinfo=UTC)
        for key, days in (("vp", 2), ("hn", 6), ("kg", 10)):
            await session.execute(
                update(Recommendation)
                .where(col(Recommendation.id) == ids[key])
                .values(created_at=raised, answered_at=raised + timedelta(days=days))
            )
    async with maker() as session:
        report = await recommendations.answer_numbers(session)
    by_name = {n.name: n for n in report.clusters}
    assert [n.name for n in report.clusters] == ["Cụm miền Bắc", "Cụm miền Nam"]
    assert (by_name["Cụm miền Bắc"].raised, by_name["Cụm miền Bắc"].answered) == (3, 2)
    assert by_name["Cụm miền Bắc"].median_days == pytest.approx(4)
    assert (by_name["Cụm miền Nam"].raised, by_name["Cụm miền Nam"].answered) == (1, 1)
    assert by_name["Cụm miền Nam"].median_days == pytest.approx(10)
    assert (report.total.raised, report.total.answered) == (4, 3)
    assert report.total.median_days == pytest.approx(6)


async def test_the_page_routes_by_unit_and_shows_the_numbers(
    client: TestClient, session_factory: Any
) -> None:
    async with session_factory() as session, session.begin():
        await make_user(session, username="thuky", role=Role.secretary)
        cluster = await make_cluster(session, name="Cụm Tây Nam Bộ")
        kg = await make_site(session, name="Liên hiệp Kiên Giang", cluster_id=cluster.id)
        meeting_id = await make_scheduled_meeting(session, starts_at=STARTS, site_ids=[kg.id])
        rec_id = await _raise(session, meeting_id, kg.id, "Đề nghị tập huấn đối ngoại.")
    csrf = await login(client, "thuky")
    saved = await client.post(
        f"/recommendations/{rec_id}",
        data={"_csrf": csrf, "status": "open", "response": "", "assigned_unit": "Ban Đối ngoại"},
        allow_redirects=False,
    )
    assert saved.status == 303
    page = await (await client.get("/recommendations?status=all&unit=Ban Đối ngoại")).text()
    assert "Đề nghị tập huấn đối ngoại." in page and "Ban Đối ngoại" in page
    numbers = page[page.index('data-testid="answer-numbers"') :]
    assert "Cụm Tây Nam Bộ</th><td>1</td><td>0</td>" in numbers
    other = await (await client.get("/recommendations?status=all&unit=Ban Tài chính")).text()
    assert "Đề nghị tập huấn đối ngoại." not in other
