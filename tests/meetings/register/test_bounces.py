"""Bounced addresses: left out of every mail to sites by one rule (invitations, the
scheduler's reminders, chasers and rehearsal notices, the notice of conclusions, the
dashboard's progress, the register's health), and cleared by an organiser, keeping the
address, when the site has fixed its mailbox (the site page's button and the API)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlmodel import col

from agendas.record.models import Minutes
from meetings.accounts.models import Role
from meetings.core.errors import Conflict, NotFound
from meetings.core.settings import DatabaseSettings
from meetings.core.store import create_engine, session_maker, utcnow
from meetings.planning import lifecycle
from meetings.register import sites
from meetings.register.health import register_health
from meetings.register.models import Contact, ContactIn, ContactRole
from notify.mail import invitations
from notify.mail.models import Message, MessageKind
from notify.mail.progress import InvitationState, invitation_progress
from notify.mail.recipients import unreachable_sites
from scheduler.actions import queue_site_messages
from scheduler.plan import Action, Due
from tests.conftest import TEST_SECRET
from tests.factories import bearer, login, make_scheduled_meeting, make_site, make_user

BOUNCED_AT = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
REASON = "5.2.2 mailbox full"


@pytest.fixture
async def maker(database_url: str) -> AsyncIterator[Any]:
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    yield session_maker(engine)
    await engine.dispose()


async def arrange(maker: Any) -> dict[str, Any]:
    """Vĩnh Phúc: its head's address works, its technical contact's bounced; Kiên Giang:
    its one address bounced. Both invited to a session a week ahead."""
    async with maker() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        await make_user(session, username="sec", role=Role.secretary)
        vp = await make_site(
            session,
            name="Liên hiệp Vĩnh Phúc",
            contacts=[
                ContactIn(name="Chủ tịch", email="ct.vp@example.org", role=ContactRole.head),
                ContactIn(name="Kỹ thuật", email="kt.vp@example.org", role=ContactRole.technical),
            ],
        )
        kg = await make_site(
            session,
            name="Liên hiệp Kiên Giang",
            contacts=[ContactIn(name="Văn phòng", email="vp.kg@example.org")],
        )
        starts_at = utcnow() + timedelta(days=7)
        meeting_id = await make_scheduled_meeting(
            session, starts_at=starts_at, site_ids=[vp.id, kg.id]
        )
        await session.execute(
            update(Contact)
            .where(col(Contact.email).in_(["kt.vp@example.org", "vp.kg@example.org"]))
            .values(bounced_at=BOUNCED_AT, bounce_reason=REASON)
        )
    return {"id": meeting_id, "starts_at": starts_at, "vp": vp, "kg": kg}


async def recipients(maker: Any, meeting_id: int, kind: MessageKind) -> list[str]:
    async with maker() as session:
        found = await session.scalars(
            select(Message.recipient)
            .where(Message.meeting_id == meeting_id, Message.kind == kind)
            .order_by(Message.recipient)
        )
        return list(found.all())


async def test_bounced_addresses_are_left_out_of_every_mail_to_sites(maker: Any):
    world = await arrange(maker)
    mid, starts_at = world["id"], world["starts_at"]
    async with maker() as session, session.begin():
        report = await invitations.queue_invitations(session, mid, secret_key=TEST_SECRET)
        meeting = await lifecycle.get_meeting_row(session, mid)
        for action, before in (
            (Action.rsvp_chaser, timedelta(days=3)),
            (Action.reminder, timedelta(days=1)),
            (Action.rehearsal, timedelta(minutes=30)),
        ):
            due = Due(starts_at - before, action, mid)
            await queue_site_messages(session, meeting, due, now=starts_at - timedelta(days=5))
        session.add(Minutes(meeting_id=mid, number=1, content={}, approved_by="chair"))
        await session.flush()
        await invitations.queue_minutes_notice(session, mid)
    assert report.invitations == 1
    for kind in (
        MessageKind.invitation,
        MessageKind.rsvp_chaser,
        MessageKind.reminder,
        # The technical contact's address bounced: the notice goes to the first that works.
        MessageKind.rehearsal,
        MessageKind.minutes,
    ):
        assert await recipients(maker, mid, kind) == ["ct.vp@example.org"], kind

    async with maker() as session:
        (unreachable,) = await unreachable_sites(session, mid)
        progress = await invitation_progress(session, [await lifecycle.get_meeting(session, mid)])
        health = await register_health(session)
    assert (unreachable.site_name, unreachable.reason, unreachable.detail) == (
        "Liên hiệp Kiên Giang",
        "bounced",
        REASON,
    )
    # Every site mail can reach has its invitation: nothing is "due" for Kiên Giang.
    assert progress[mid].state == InvitationState.sent
    assert health.without_email == 1


async def test_clearing_a_bounce_keeps_the_address_and_mails_it_again(maker: Any):
    world = await arrange(maker)
    kg, vp = world["kg"], world["vp"]
    contact_id = kg.contacts[0].id
    async with maker() as session, session.begin():
        with pytest.raises(NotFound):  # another site's contact
            await sites.clear_bounce(session, kg.id, vp.contacts[1].id, version=kg.version)
    with pytest.raises(Conflict):
        async with maker() as session, session.begin():
            await sites.clear_bounce(session, kg.id, contact_id, version=kg.version + 5)
    async with maker() as session, session.begin():
        cleared = await sites.clear_bounce(session, kg.id, contact_id, version=kg.version)
    assert cleared.version == kg.version + 1
    (contact,) = cleared.contacts
    assert (contact.email, contact.bounced_at, contact.bounce_reason) == (
        "vp.kg@example.org",
        None,
        "",
    )
    # Vĩnh Phúc's technical contact is another site's: still flagged.
    async with maker() as session:
        assert [c.bounce_reason for c in (await sites.get_site(session, vp.id)).contacts] == [
            "",
            REASON,
        ]
        plan = await invitations.invitation_plan(session, world["id"])
    assert sorted(p.email for p in plan.planned) == ["ct.vp@example.org", "vp.kg@example.org"]
    assert plan.unreachable == []


async def test_the_site_page_clears_a_bounce_for_organisers(
    client: TestClient, session_factory: Any
):
    world = await arrange(session_factory)
    kg = world["kg"]
    contact_id = kg.contacts[0].id
    action = f"/sites/{kg.id}/contacts/{contact_id}/bounce/clear"

    await login(client, "sec")
    read_only = await (await client.get(f"/sites/{kg.id}")).text()
    assert 'data-testid="bounced"' in read_only and action not in read_only

    token = await login(client, "org")
    page = await (await client.get(f"/sites/{kg.id}")).text()
    warning = page[page.index('data-testid="bounced"') :]
    assert "5.2.2 mailbox full" in warning and "Địa chỉ đã dùng lại được" in warning
    assert f'action="{action}"' in warning

    stale = await client.post(action, data={"_csrf": token, "version": str(kg.version - 1)})
    assert stale.status == 409
    assert "Người khác vừa thay đổi điểm cầu này" in await stale.text()
    assert (await client.post(action, data={"version": str(kg.version)})).status == 403  # CSRF

    done = await client.post(action, data={"_csrf": token, "version": str(kg.version)})
    assert done.status == 200 and str(done.url).endswith(f"/sites/{kg.id}")
    after = await done.text()
    assert "Địa chỉ này sẽ được gửi thư trở lại." in after
    assert 'data-testid="bounced"' not in after and "vp.kg@example.org" in after


async def test_the_api_clears_a_bounce_with_the_sites_version(
    client: TestClient, session_factory: Any
):
    world = await arrange(session_factory)
    kg = world["kg"]
    async with session_factory() as session, session.begin():
        headers = await bearer(session, "org")
        secretary = await bearer(session, "sec")
    path = f"/api/v1/sites/{kg.id}/contacts/{kg.contacts[0].id}/bounce/clear"
    body = {"version": kg.version}
    assert (await client.post(path, json=body, headers=secretary)).status == 403
    missing = await client.post(path, json={}, headers=headers)
    assert missing.status == 422
    assert [d["field"] for d in (await missing.json())["error"]["details"]] == ["version"]
    other = f"/api/v1/sites/{kg.id}/contacts/{world['vp'].contacts[0].id}/bounce/clear"
    assert (await client.post(other, json=body, headers=headers)).status == 404

    cleared = await client.post(path, json=body, headers=headers)
    assert cleared.status == 200, await cleared.text()
    site = await cleared.json()
    assert site["version"] == kg.version + 1
    assert [(c["email"], c["bounced_at"]) for c in site["contacts"]] == [
        ("vp.kg@example.org", None)
    ]
    assert (await client.post(path, json=body, headers=headers)).status == 409  # stale now
    document = await (await client.get("/api/v1/openapi.json")).json()
    assert "/api/v1/sites/{id}/contacts/{contact_id}/bounce/clear" in document["paths"]
