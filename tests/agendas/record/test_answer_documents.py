"""Answers to recommendations with a document, and the answer numbers across the series
(issue #16): the document goes with the answer to the raising site through a real SMTP
server; the numbers per cluster come per series in the page, the API and the register's
clusters page. On SQLite and PostgreSQL, through the real app."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlmodel import col

from agendas.record.models import Recommendation
from meetings.accounts.models import Role
from meetings.core.app import receivers
from meetings.core.settings import Settings
from meetings.core.store import create_engine, session_maker
from meetings.planning.models import Meeting
from meetings.register.models import ContactIn
from notify.mail import outbox, transports
from notify.mail.models import Message, MessageKind
from notify.mail.render import make_renderer
from tests.agendas.record.test_answers import _raise
from tests.conftest import make_settings
from tests.factories import (
    bearer,
    login,
    make_cluster,
    make_scheduled_meeting,
    make_site,
    make_user,
)

STARTS = datetime(2030, 4, 19, 1, 0, tzinfo=UTC)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_sink: Any) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        mail={"mode": "smtp", "smtp_host": "127.0.0.1", "smtp_port": smtp_sink.port},
    )


@pytest.fixture
async def maker(settings: Settings) -> AsyncIterator[Any]:
    engine = create_engine(settings.database)
    yield session_maker(engine, signals=receivers())
    await engine.dispose()


def _file(field: str, content: bytes, name: str, **fields: str) -> FormData:
    data = FormData()
    for key, value in fields.items():
        data.add_field(key, value)
    data.add_field(field, io.BytesIO(content), filename=name)
    return data


async def _answers(maker: Any) -> list[Message]:
    async with maker() as session:
        rows = await session.scalars(
            select(Message).where(col(Message.kind) == MessageKind.recommendation_answer)
        )
        return list(rows.all())


async def test_an_answer_with_its_document_reaches_the_site(
    client: TestClient, maker: Any, settings: Settings, smtp_sink: Any
) -> None:
    async with maker() as session, session.begin():
        await make_user(session, username="thuky", role=Role.secretary)
        headers = await bearer(session, "thuky")
        kg = await make_site(
            session, name="Liên hiệp Kiên Giang", contacts=[ContactIn(name="Hà", email="ha@kg.vn")]
        )
        meeting_id = await make_scheduled_meeting(session, starts_at=STARTS, site_ids=[kg.id])
        rec_id = await _raise(session, meeting_id, kg.id, "Đề nghị hướng dẫn thủ tục.")
    csrf = await login(client, "thuky")
    # A file that is not what it says is refused, and nothing is mailed.
    refused = await client.post(
        f"/recommendations/{rec_id}",
        data=_file(
            "document",
            b"MZ\x90\x00",
            "huong dan.pdf",
            _csrf=csrf,
            status="answered",
            response="Xem hướng dẫn kèm theo.",
        ),
    )
    assert refused.status == 200 and await _answers(maker) == []
    saved = await client.post(
        f"/recommendations/{rec_id}",
        data=_file(
            "document",
            PDF,
            "Hướng dẫn thủ tục.pdf",
            _csrf=csrf,
            status="answered",
            response="Xem hướng dẫn kèm theo.",
        ),
    )
    assert saved.status == 200
    page = await (await client.get("/recommendations?status=all")).text()
    assert f'data-testid="answer-document-{rec_id}"' in page and "Hướng dẫn thủ tục.pdf" in page
    download = await client.get(f"/api/v1/recommendations/{rec_id}/document", headers=headers)
    assert download.status == 200 and await download.read() == PDF

    report = await outbox.deliver_due(
        maker, transports.SmtpTransport(settings.mail), make_renderer(settings)
    )
    assert (report.sent, report.failed) == (1, 0)
    (mail,) = smtp_sink.received
    assert mail["To"].addresses[0].addr_spec == "ha@kg.vn"
    (attached,) = list(mail.iter_attachments())
    assert attached.get_filename() == "Hướng dẫn thủ tục.pdf"
    assert attached.get_content_type() == "application/pdf" and attached.get_content() == PDF
    assert "Xem hướng dẫn kèm theo." in mail.get_body(("plain",)).get_content()

    # A new document for the answer given (the API) mails the answer again, with it.
    replaced = await client.post(
        f"/api/v1/recommendations/{rec_id}/document",
        data=_file("file", PDF + b"%v2\n", "Hướng dẫn (sửa).pdf"),
        headers=headers,
    )
    assert replaced.status == 200
    assert (await replaced.json())["answer_filename"] == "Hướng dẫn (sửa).pdf"
    assert len(await _answers(maker)) == 2
    await outbox.deliver_due(
        maker, transports.SmtpTransport(settings.mail), make_renderer(settings)
    )
    (second,) = list(smtp_sink.received[1].iter_attachments())
    assert second.get_content() == PDF + b"%v2\n"
    stored = list((settings.documents.dir / "recommendations").iterdir())
    assert len(stored) == 1  # the replaced file is gone


async def test_the_numbers_per_cluster_and_series(client: TestClient, maker: Any) -> None:
    async with maker() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        north = await make_cluster(session, name="Cụm miền Bắc")
        south = await make_cluster(session, name="Cụm miền Nam")
        hn = await make_site(session, cluster_id=north.id)
        kg = await make_site(session, cluster_id=south.id)
        first = await make_scheduled_meeting(
            session, starts_at=STARTS, site_ids=[hn.id, kg.id], series_name="Giao ban 2030"
        )
        other = await make_scheduled_meeting(
            session, starts_at=STARTS, site_ids=[hn.id, kg.id], series_name="Hội nghị chuyên đề"
        )
        series = {
            m: (await session.get(Meeting, m)).series_id  # type: ignore[union-attr]
            for m in (first, other)
        }
        raised = datetime(2030, 4, 19, tzinfo=UTC)
        for meeting_id, site, text, days in (
            (first, hn.id, "HN 1", 2),
            (first, hn.id, "HN 2", 4),
            (first, kg.id, "KG 1", None),
            (other, kg.id, "KG 2", 9),
        ):
            rec_id = await _raise(session, meeting_id, site, text)
            values: dict[str, Any] = {"created_at": raised}
            if days is not None:
                values |= {
                    "status": "answered",
                    "answer": "Đã trả lời",
                    "answered_at": raised + timedelta(days=days),
                }
            await session.execute(
                update(Recommendation).where(col(Recommendation.id) == rec_id).values(**values)
            )

    async def numbers(query: str) -> dict[str, Any]:
        found = await client.get(f"/api/v1/recommendations/numbers{query}", headers=headers)
        assert found.status == 200
        return dict(await found.json())

    one = await numbers(f"?series_id={series[first]}")
    by_name = {c["name"]: c for c in one["clusters"]}
    assert one["series_id"] == series[first]
    assert (by_name["Cụm miền Bắc"]["raised"], by_name["Cụm miền Bắc"]["answered"]) == (2, 2)
    assert by_name["Cụm miền Bắc"]["median_days"] == pytest.approx(3)
    assert by_name["Cụm miền Bắc"]["mean_days"] == pytest.approx(3)
    assert (by_name["Cụm miền Nam"]["raised"], by_name["Cụm miền Nam"]["answered"]) == (1, 0)
    assert by_name["Cụm miền Nam"]["median_days"] is None
    every = await numbers("")
    assert (every["total"]["raised"], every["total"]["answered"]) == (4, 3)
    assert every["total"]["mean_days"] == pytest.approx(5)

    await login(client, "org")
    page = await (await client.get(f"/recommendations?status=all&series={series[other]}")).text()
    table = page[page.index('data-testid="answer-numbers"') :]
    assert "Cụm miền Nam</th><td>1</td><td>1</td><td>9.0</td><td>9.0</td>" in table
    assert "Cụm miền Bắc" not in table
    # The register's clusters page shows the same numbers, per series.
    clusters = await (await client.get(f"/clusters?series_id={series[first]}")).text()
    table = clusters[clusters.index('data-testid="answer-numbers"') :]
    assert "Cụm miền Bắc</th><td>2</td><td>2</td><td>3.0</td><td>3.0</td>" in table
    assert "Cụm miền Nam</th><td>1</td><td>0</td><td>–</td><td>–</td>" in table
