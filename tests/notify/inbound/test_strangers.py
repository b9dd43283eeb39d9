"""A calendar answer from an address that was not invited, applied by the organiser to
the invited site it speaks for: the site's RSVP is set as by any calendar reply (its
source the address, the stale-SEQUENCE rule kept), the e-mail is decided once, a site
not invited is refused; through the domain (SQLite and PostgreSQL), the API and the
session's inbox pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from meetings.accounts.models import Role
from meetings.core.errors import Conflict, Invalid
from meetings.core.settings import DatabaseSettings
from meetings.core.store import create_engine, session_maker, utcnow
from meetings.planning import lifecycle, rsvp
from meetings.planning.models import Participation, Rsvp
from meetings.register.models import ContactIn
from notify.inbound.apply import take_in
from notify.inbound.models import InboundMail
from notify.inbound.parsed import CalendarAnswer, Envelope, Mail
from notify.inbound.strangers import apply_stranger
from tests.conftest import TEST_SECRET
from tests.factories import bearer, login, make_scheduled_meeting, make_site, make_user

INBOUND = "giaoban@inbound.example.gov.vn"
STRANGER = "chutich.rieng@gmail.example"
NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
async def maker(database_url: str) -> AsyncIterator[Any]:
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    yield session_maker(engine)
    await engine.dispose()


async def arrange(maker: Any) -> dict[str, Any]:
    """Vĩnh Phúc and Kiên Giang invited to a scheduled session, Lào Cai not; the
    organiser "org"."""
    async with maker() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        await make_user(session, username="sec", role=Role.secretary)
        sites = {
            code: await make_site(
                session,
                name=f"Liên hiệp {name}",
                contacts=[ContactIn(name=f"Văn phòng {name}", email=f"vp.{code}@example.org")],
            )
            for name, code in (("Vĩnh Phúc", "vp"), ("Kiên Giang", "kg"), ("Lào Cai", "lc"))
        }
        meeting_id = await make_scheduled_meeting(
            session,
            starts_at=utcnow() + timedelta(days=7),
            site_ids=[sites["vp"].id, sites["kg"].id],
            title="Giao ban quý II",
        )
        uid = (await lifecycle.get_meeting_row(session, meeting_id)).uid
    return {"id": meeting_id, "uid": uid, **{code: site.id for code, site in sites.items()}}


_keys = iter(range(1, 1_000_000))


async def answer_from(
    maker: Any, uid: str, partstat: str, *, attendee: str = STRANGER, sequence: int = 0
) -> InboundMail:
    """A calendar REPLY read from the mailbox, as the worker applies it."""
    mail = Mail(
        Envelope(
            key=f"<r{next(_keys)}@mail.example>",
            sender=attendee,
            subject=f"{partstat.title()}: Giao ban quý II",
            date=NOW,
        ),
        CalendarAnswer("REPLY", uid, sequence, attendee, partstat, comment="Tôi dự thay"),
    )
    async with maker() as session, session.begin():
        (row,) = await take_in(
            session, [mail], inbound_address=INBOUND, secret=TEST_SECRET, now=NOW
        )
    return row


async def participation(maker: Any, meeting_id: int, site_id: int) -> Participation:
    async with maker() as session:
        row = await session.scalar(
            select(Participation).where(
                Participation.meeting_id == meeting_id, Participation.site_id == site_id
            )
        )
        assert row is not None
        return row


async def test_a_strangers_answer_applied_to_a_site_sets_its_rsvp_once(maker: Any):
    world = await arrange(maker)
    mail = await answer_from(maker, world["uid"], "ACCEPTED")
    assert (mail.outcome, mail.site_id) == ("stranger", None)
    assert (await participation(maker, world["id"], world["vp"])).rsvp == Rsvp.needs_action

    async with maker() as session, session.begin():
        done = await apply_stranger(
            session, world["id"], mail.id or 0, site_id=world["vp"], by="org", now=NOW
        )
    assert done.mail.outcome == "applied" and done.mail.site_name == "Liên hiệp Vĩnh Phúc"
    assert (done.mail.site_id, done.mail.decided_by, done.mail.decided_at) == (
        world["vp"],
        "org",
        NOW,
    )
    assert (done.rsvp.response, done.rsvp.rsvp_source) == (Rsvp.accepted, "calendar")
    row = await participation(maker, world["id"], world["vp"])
    assert (row.rsvp, row.rsvp_source, row.rsvp_note) == (Rsvp.accepted, "calendar", "Tôi dự thay")
    assert (await participation(maker, world["id"], world["kg"])).rsvp == Rsvp.needs_action
    async with maker() as session:
        changes = await rsvp.history(session, world["id"], world["vp"])
    assert [(c.response, c.source, c.source_detail, c.applied) for c in changes] == [
        ("accepted", "calendar", STRANGER, True)
    ]

    # Decided once: a second organiser applying it to another site is refused, and
    # nothing changes.
    with pytest.raises(Conflict, match="already applied by org"):
        async with maker() as session, session.begin():
            await apply_stranger(session, world["id"], mail.id or 0, site_id=world["kg"], by="b")
    assert (await participation(maker, world["id"], world["kg"])).rsvp == Rsvp.needs_action


async def test_a_site_not_invited_is_refused_and_the_answer_still_waits(maker: Any):
    world = await arrange(maker)
    mail = await answer_from(maker, world["uid"], "DECLINED")
    with pytest.raises(Invalid) as refused:
        async with maker() as session, session.begin():
            await apply_stranger(session, world["id"], mail.id or 0, site_id=world["lc"], by="org")
    assert [p.field for p in refused.value.problems] == ["site_id"]
    async with maker() as session:
        kept = await session.get_one(InboundMail, mail.id)
    assert (kept.outcome, kept.site_id, kept.decided_by) == ("stranger", None, "")


async def test_a_strangers_answer_to_an_older_version_is_recorded_not_taken(maker: Any):
    world = await arrange(maker)
    # The site answered version 2 from its own address; the stranger answered version 0.
    await answer_from(maker, world["uid"], "ACCEPTED", attendee="vp.vp@example.org", sequence=2)
    mail = await answer_from(maker, world["uid"], "DECLINED", sequence=0)
    async with maker() as session, session.begin():
        done = await apply_stranger(session, world["id"], mail.id or 0, site_id=world["vp"], by="o")
    assert done.mail.outcome == "stale" and "SEQUENCE 0 < 2" in done.mail.reason
    assert done.rsvp.response == Rsvp.accepted
    async with maker() as session:
        changes = await rsvp.history(session, world["id"], world["vp"])
    assert [(c.response, c.source_detail, c.applied) for c in changes] == [
        ("accepted", "vp.vp@example.org", True),
        ("declined", STRANGER, False),
    ]


# --- the API and the pages ------------------------------------------------------------------


async def test_the_api_applies_a_strangers_answer_and_answers_409_and_422(
    client: TestClient, session_factory: Any
):
    world = await arrange(session_factory)
    mail = await answer_from(session_factory, world["uid"], "TENTATIVE")
    async with session_factory() as session, session.begin():
        headers = await bearer(session, "org")
        secretary = await bearer(session, "sec")
    path = f"/api/v1/meetings/{world['id']}/inbox/{mail.id}/apply"

    assert (await client.post(path, json={"site_id": world["vp"]}, headers=secretary)).status == 403
    missing = await client.post(path, json={}, headers=headers)
    assert missing.status == 422
    assert [d["field"] for d in (await missing.json())["error"]["details"]] == ["site_id"]
    outside = await client.post(path, json={"site_id": world["lc"]}, headers=headers)
    assert outside.status == 422
    assert [d["field"] for d in (await outside.json())["error"]["details"]] == ["site_id"]
    unknown = f"/api/v1/meetings/{world['id']}/inbox/{(mail.id or 0) + 99}/apply"
    nothing = await client.post(unknown, json={"site_id": world["vp"]}, headers=headers)
    assert nothing.status == 404

    applied = await client.post(path, json={"site_id": world["vp"]}, headers=headers)
    assert applied.status == 200, await applied.text()
    body = await applied.json()
    assert (body["mail"]["outcome"], body["mail"]["site_id"], body["mail"]["decided_by"]) == (
        "applied",
        world["vp"],
        "org",
    )
    assert (body["rsvp"]["response"], body["rsvp"]["rsvp_source"]) == ("tentative", "calendar")
    again = await client.post(path, json={"site_id": world["kg"]}, headers=headers)
    assert again.status == 409
    assert "already applied by org" in (await again.json())["error"]["message"]
    grid = await (
        await client.get(f"/api/v1/meetings/{world['id']}/participations", headers=headers)
    ).json()
    answers = {p["site_id"]: p["rsvp"] for p in grid["items"]}
    assert answers == {world["vp"]: "tentative", world["kg"]: "needs_action"}
    document = await (await client.get("/api/v1/openapi.json")).json()
    assert "/api/v1/meetings/{id}/inbox/{inbound_id}/apply" in document["paths"]


async def test_the_inbox_page_applies_a_strangers_answer_to_a_chosen_site(
    client: TestClient, session_factory: Any
):
    world = await arrange(session_factory)
    mail = await answer_from(session_factory, world["uid"], "DECLINED")
    token = await login(client, "org")
    inbox = await (await client.get(f"/sessions/{world['id']}/inbox?show=stranger")).text()
    link = f'href="/sessions/{world["id"]}/inbox/{mail.id}/apply"'
    assert link in inbox and "Áp dụng cho điểm cầu…" in inbox

    form = await (await client.get(f"/sessions/{world['id']}/inbox/{mail.id}/apply")).text()
    assert STRANGER in form and "Tôi dự thay" in form
    assert '<label for="f-site_id">Điểm cầu được mời</label>' in form
    choices = form[form.index('<select id="f-site_id"') : form.index("</select>")]
    assert "Liên hiệp Vĩnh Phúc" in choices and "Liên hiệp Kiên Giang" in choices
    assert "Liên hiệp Lào Cai" not in choices  # not invited

    target = f"/sessions/{world['id']}/inbox/{mail.id}/apply"
    refused = await client.post(target, data={"_csrf": token, "site_id": str(world["lc"])})
    assert refused.status == 422
    assert "Điểm cầu này không được mời dự phiên họp" in await refused.text()
    forged = await client.post(target, data={"site_id": str(world["vp"])})
    assert forged.status == 403  # no CSRF token

    done = await client.post(target, data={"_csrf": token, "site_id": str(world["kg"])})
    assert done.status == 200 and str(done.url).endswith(f"/sessions/{world['id']}/inbox")
    page = await done.text()
    assert "Đã áp dụng câu trả lời cho Liên hiệp Kiên Giang." in page
    assert "apply-stranger" not in page  # decided: no longer offered
    assert (await participation(session_factory, world["id"], world["kg"])).rsvp == Rsvp.declined
    again = await client.post(target, data={"_csrf": token, "site_id": str(world["vp"])})
    assert "Trả lời này đã được org áp dụng" in await again.text()
    assert (await participation(session_factory, world["id"], world["vp"])).rsvp == "needs_action"
