"""A site's proposal of another time, decided by the organiser: accepting moves the
session and queues the updates, declining answers the proposer alone, a decision is
taken once, and only by those who plan sessions."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.accounts.models import Role
from meetings.core.errors import Conflict
from meetings.planning.models import Meeting
from meetings.register.models import ContactIn
from notify.inbound import counters
from notify.inbound.models import InboundKind, InboundMail, InboundOutcome
from notify.mail import invitations
from notify.mail.models import Message, MessageKind
from tests.conftest import TEST_SECRET
from tests.factories import bearer, login, make_scheduled_meeting, make_site, make_user

#: The session: Friday 19 April 2030, 08:00–11:00 in Hà Nội (01:00–04:00 UTC).
STARTS = datetime(2030, 4, 19, 1, 0, tzinfo=UTC)
#: What Vĩnh Phúc proposes: the same day, 14:00–16:00 in Hà Nội.
PROPOSED = (datetime(2030, 4, 19, 7, 0, tzinfo=UTC), datetime(2030, 4, 19, 9, 0, tzinfo=UTC))
_numbers = itertools.count(1)


def inbound(meeting_id: int | None, **fields: Any) -> InboundMail:
    """An e-mail as the inbound worker records it (notify.inbound.apply)."""
    values: dict[str, Any] = {
        "key": f"<mail-{next(_numbers)}@sites.example.org>",
        "kind": InboundKind.reply,
        "outcome": InboundOutcome.applied,
        "meeting_id": meeting_id,
        "sender": "ct.vp@example.org",
        "attendee": "ct.vp@example.org",
        "subject": "Accepted: Giao ban",
        **fields,
    }
    return InboundMail(**values)


async def arrange(session_factory: Any) -> dict[str, Any]:
    """An organiser, a secretary and a chair; a scheduled session inviting two sites (two
    contacts each) whose invitations are queued; Vĩnh Phúc's proposal of another time and
    Kiên Giang's, both waiting."""
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        await make_user(session, username="sec", role=Role.secretary)
        await make_user(session, username="chair", role=Role.chair)
        sites = [
            await make_site(
                session,
                name=f"Liên hiệp {name}",
                contacts=[
                    ContactIn(name=f"Chủ tịch {name}", email=f"ct.{code}@example.org"),
                    ContactIn(name=f"Kỹ thuật {name}", email=f"kt.{code}@example.org"),
                ],
            )
            for name, code in (("Vĩnh Phúc", "vp"), ("Kiên Giang", "kg"))
        ]
        meeting_id = await make_scheduled_meeting(
            session, starts_at=STARTS, site_ids=[s.id for s in sites], title="Giao ban quý II"
        )
        await invitations.queue_invitations(session, meeting_id, secret_key=TEST_SECRET)
        vp_contact = sites[0].contacts[0]
        first = inbound(
            meeting_id,
            kind=InboundKind.counter,
            outcome=InboundOutcome.pending,
            site_id=sites[0].id,
            contact_id=vp_contact.id,
            subject="Đề xuất thời gian mới: Giao ban quý II",
            proposed_starts_at=PROPOSED[0],
            proposed_ends_at=PROPOSED[1],
            comment="Buổi sáng chúng tôi họp HĐND",
            sequence=0,
        )
        second = inbound(
            meeting_id,
            kind=InboundKind.counter,
            outcome=InboundOutcome.pending,
            site_id=sites[1].id,
            sender="kt.kg@example.org",
            attendee="kt.kg@example.org",
            subject="New time proposed: Giao ban quý II",
            proposed_starts_at=PROPOSED[0] + timedelta(days=3),
            proposed_ends_at=PROPOSED[1] + timedelta(days=3),
        )
        session.add_all([first, second])
        await session.flush()
        return {"id": meeting_id, "sites": sites, "counter": first.id, "other": second.id}


@pytest.fixture
async def data(session_factory: Any) -> dict[str, Any]:
    return await arrange(session_factory)


async def _kinds(session_factory: Any, meeting_id: int) -> dict[str, list[str]]:
    """The outbox of the session: recipients by message kind."""
    async with session_factory() as session:
        rows = await session.execute(
            select(col(Message.kind), col(Message.recipient))
            .where(col(Message.meeting_id) == meeting_id)
            .order_by(col(Message.id))
        )
        found: dict[str, list[str]] = {}
        for kind, recipient in rows.all():
            found.setdefault(kind, []).append(recipient)
        return found


async def _row(session_factory: Any, inbound_id: int) -> InboundMail:
    async with session_factory() as session:
        row = await session.get(InboundMail, inbound_id)
        assert row is not None
        return row


async def test_accepting_moves_the_session_and_queues_an_update_to_every_contact(
    client: TestClient, session_factory: Any, data: dict[str, Any]
):
    csrf = await login(client, "org")
    page = await (await client.get(f"/sessions/{data['id']}")).text()
    assert (
        "Liên hiệp Vĩnh Phúc đề nghị đổi thời gian: 14:00–16:00 Thứ Sáu, 19/04/2030 "
        "(thay vì 08:00–11:00 Thứ Sáu, 19/04/2030)" in page
    )
    assert "Buổi sáng chúng tôi họp HĐND" in page
    async with session_factory() as session:
        version = (await session.get(Meeting, data["id"])).version

    done = await client.post(
        f"/sessions/{data['id']}/counters/{data['counter']}/accept",
        data={"_csrf": csrf, "version": str(version)},
    )
    text = await done.text()
    assert "Đã dời phiên họp sang 14:00–16:00 Thứ Sáu, 19/04/2030. 4 cập nhật đã xếp hàng." in text
    async with session_factory() as session:
        meeting = await session.get(Meeting, data["id"])
        assert (meeting.starts_at, meeting.ends_at) == PROPOSED
        assert meeting.sequence == 1
    outbox = await _kinds(session_factory, data["id"])
    assert sorted(outbox["update"]) == [
        "ct.kg@example.org",
        "ct.vp@example.org",
        "kt.kg@example.org",
        "kt.vp@example.org",
    ]
    accepted = await _row(session_factory, data["counter"])
    assert (accepted.outcome, accepted.decided_by) == (InboundOutcome.accepted, "org")
    assert accepted.decided_at is not None
    # Kiên Giang's proposal still waits for its own decision.
    assert (await _row(session_factory, data["other"])).outcome == InboundOutcome.pending
    assert "Liên hiệp Kiên Giang đề nghị đổi thời gian" in text
    assert "Liên hiệp Vĩnh Phúc đề nghị đổi thời gian" not in text


async def test_declining_queues_one_declinecounter_to_the_proposer_only(
    client: TestClient, session_factory: Any, data: dict[str, Any]
):
    csrf = await login(client, "org")
    before = await _kinds(session_factory, data["id"])
    done = await client.post(
        f"/sessions/{data['id']}/counters/{data['counter']}/decline", data={"_csrf": csrf}
    )
    assert "Đã từ chối: ct.vp@example.org sẽ được báo rằng phiên họp giữ nguyên thời gian." in (
        await done.text()
    )
    after = await _kinds(session_factory, data["id"])
    assert after.pop("declinecounter") == ["ct.vp@example.org"]
    assert after == before  # nothing else queued
    async with session_factory() as session:
        message = await session.scalar(
            select(Message).where(col(Message.kind) == MessageKind.declinecounter)
        )
        meeting = await session.get(Meeting, data["id"])
    assert message is not None and meeting is not None
    assert (message.site_id, message.sequence) == (data["sites"][0].id, meeting.sequence)
    assert message.recipient_name == "Chủ tịch Vĩnh Phúc"
    assert meeting.starts_at == STARTS  # the session keeps its time
    declined = await _row(session_factory, data["counter"])
    assert (declined.outcome, declined.decided_by) == (InboundOutcome.declined, "org")


async def test_a_decided_proposal_cannot_be_decided_again(
    client: TestClient, session_factory: Any, data: dict[str, Any]
):
    async with session_factory() as session, session.begin():
        headers = await bearer(session, "org")
        version = (await session.get(Meeting, data["id"])).version
    base = f"/api/v1/meetings/{data['id']}/counters/{data['counter']}"
    first = await client.post(f"{base}/decline", headers=headers)
    assert first.status == 202, await first.text()
    body = await first.json()
    assert body["counter"]["outcome"] == "declined"
    assert body["message"]["kind"] == "declinecounter"

    again = await client.post(f"{base}/decline", headers=headers)
    assert again.status == 409
    assert (await again.json())["error"]["message"] == "This proposal was already declined by org"
    accept = await client.post(f"{base}/accept", json={"version": version}, headers=headers)
    assert accept.status == 409
    assert await _kinds(session_factory, data["id"]) == {
        "invitation": ["ct.vp@example.org", "kt.vp@example.org", "ct.kg@example.org"]
        + ["kt.kg@example.org"],
        "declinecounter": ["ct.vp@example.org"],
    }

    # On the page: said in the reader's language, nothing changed.
    csrf = await login(client, "org")
    page = await client.post(
        f"/sessions/{data['id']}/counters/{data['counter']}/decline", data={"_csrf": csrf}
    )
    assert "Chưa thực hiện: Đề nghị này đã bị org từ chối" in await page.text()
    assert len((await _kinds(session_factory, data["id"]))["declinecounter"]) == 1


async def test_accepting_through_the_api_checks_the_version_and_says_what_was_queued(
    client: TestClient, session_factory: Any, data: dict[str, Any]
):
    async with session_factory() as session, session.begin():
        headers = await bearer(session, "org")
        version = (await session.get(Meeting, data["id"])).version
    url = f"/api/v1/meetings/{data['id']}/counters/{data['counter']}/accept"
    stale = await client.post(url, json={"version": version - 1}, headers=headers)
    assert stale.status == 409
    assert (await _row(session_factory, data["counter"])).outcome == InboundOutcome.pending
    missing = await client.post(url, json={}, headers=headers)
    assert missing.status == 422
    assert (await missing.json())["error"]["details"][0]["field"] == "version"

    done = await client.post(url, json={"version": version}, headers=headers)
    assert done.status == 200, await done.text()
    body = await done.json()
    assert body["meeting"]["starts_at"] == "2030-04-19T07:00:00Z"
    assert body["meeting"]["sequence"] == 1
    assert (body["updates"], body["invitations"], body["cancellations"]) == (4, 0, 0)
    assert body["counter"]["outcome"] == "accepted"
    assert body["counter"]["decided_by"] == "org"


async def test_a_proposal_of_a_time_already_past_or_of_another_session_is_refused(
    client: TestClient, session_factory: Any, data: dict[str, Any]
):
    async with session_factory() as session, session.begin():
        headers = await bearer(session, "org")
        version = (await session.get(Meeting, data["id"])).version
        past = inbound(
            data["id"],
            kind=InboundKind.counter,
            outcome=InboundOutcome.pending,
            proposed_starts_at=datetime(2020, 1, 2, 1, tzinfo=UTC),
            proposed_ends_at=datetime(2020, 1, 2, 3, tzinfo=UTC),
        )
        reply = inbound(data["id"])
        session.add_all([past, reply])
        await session.flush()
    base = f"/api/v1/meetings/{data['id']}/counters"
    refused = await client.post(
        f"{base}/{past.id}/accept", json={"version": version}, headers=headers
    )
    assert refused.status == 422
    assert (await refused.json())["error"]["details"][0] == {
        "field": "proposed_starts_at",
        "message": "The proposed time has already passed",
    }
    assert (await _row(session_factory, past.id)).outcome == InboundOutcome.pending
    # A calendar answer is not a proposal; another session's proposal is not this one's.
    assert (await client.post(f"{base}/{reply.id}/decline", headers=headers)).status == 404
    elsewhere = f"/api/v1/meetings/{data['id'] + 1}/counters/{data['counter']}/decline"
    assert (await client.post(elsewhere, headers=headers)).status == 404


@pytest.mark.parametrize("username", ["sec", "chair"])
async def test_only_organisers_decide(
    client: TestClient, session_factory: Any, data: dict[str, Any], username: str
):
    async with session_factory() as session, session.begin():
        headers = await bearer(session, username)
        version = (await session.get(Meeting, data["id"])).version
    base = f"/api/v1/meetings/{data['id']}/counters/{data['counter']}"
    accept = await client.post(f"{base}/accept", json={"version": version}, headers=headers)
    assert accept.status == 403
    assert (await client.post(f"{base}/decline", headers=headers)).status == 403
    csrf = await login(client, username)
    page = await client.post(
        f"/sessions/{data['id']}/counters/{data['counter']}/decline", data={"_csrf": csrf}
    )
    assert page.status == 403
    # Nor do they see the proposals on the session page.
    session_page = await (await client.get(f"/sessions/{data['id']}")).text()
    assert "đề nghị đổi thời gian" not in session_page
    assert (await _row(session_factory, data["counter"])).outcome == InboundOutcome.pending
    async with session_factory() as session:
        declines = await session.scalar(
            select(func.count()).where(col(Message.kind) == MessageKind.declinecounter)
        )
    assert declines == 0


async def test_a_page_form_without_the_csrf_token_is_refused(
    client: TestClient, session_factory: Any, data: dict[str, Any]
):
    await login(client, "org")
    refused = await client.post(f"/sessions/{data['id']}/counters/{data['counter']}/decline")
    assert refused.status == 403
    assert (await _row(session_factory, data["counter"])).outcome == InboundOutcome.pending


async def test_a_proposal_is_decided_once_on_every_store(store_session: AsyncSession):
    async with store_session.begin():
        site = await make_site(store_session)
        meeting_id = await make_scheduled_meeting(
            store_session, starts_at=STARTS, site_ids=[site.id]
        )
        await invitations.queue_invitations(store_session, meeting_id, secret_key=TEST_SECRET)
        proposal = inbound(
            meeting_id,
            kind=InboundKind.counter,
            outcome=InboundOutcome.pending,
            site_id=site.id,
            attendee=site.contacts[0].email,
            proposed_starts_at=PROPOSED[0],
            proposed_ends_at=PROPOSED[1],
        )
        store_session.add(proposal)
        await store_session.flush()
        meeting = await store_session.get(Meeting, meeting_id)
        assert meeting is not None and proposal.id is not None
        done = await counters.accept_counter(
            store_session,
            meeting_id,
            proposal.id,
            version=meeting.version,
            by="org",
            secret_key=TEST_SECRET,
        )
        assert (done.meeting.starts_at, done.queued.updates) == (PROPOSED[0], 1)
        with pytest.raises(Conflict) as refused:
            await counters.decline_counter(store_session, meeting_id, proposal.id, by="other")
        assert refused.value.message == "This proposal was already accepted by org"
        declines = await store_session.scalar(
            select(func.count()).where(col(Message.kind) == MessageKind.declinecounter)
        )
    assert declines == 0
