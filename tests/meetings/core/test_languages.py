"""A site's language: its e-mails and its page speak it; Vietnamese is the default."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.core.errors import Invalid
from meetings.core.keys import sessions_key, settings_key
from meetings.register import export, imports
from meetings.register.models import ContactIn
from notify.mail import outbox, transports
from notify.mail.render import make_renderer
from notify.site import tokens
from tests.conftest import TEST_SECRET
from tests.factories import bearer, make_site, make_user

BODY = {
    "title": "Giao ban quý II",
    "starts_at": "2030-04-19T08:00:00+07:00",
    "ends_at": "2030-04-19T11:00:00+07:00",
}


async def test_each_site_gets_its_invitation_in_its_language(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        home = await make_site(
            session, name="Liên hiệp Vĩnh Phúc", contacts=[ContactIn(name="Lan", email="l@x.vn")]
        )
        abroad = await make_site(
            session,
            name="Hội hữu nghị Việt Nam tại Lào",
            locale="en",
            contacts=[ContactIn(name="Somchai", email="s@x.la")],
        )
    meeting = await (
        await client.post(
            "/api/v1/meetings", headers=headers, json={**BODY, "site_ids": [home.id, abroad.id]}
        )
    ).json()
    await client.post(f"/api/v1/meetings/{meeting['id']}/invitations", headers=headers)
    settings = client.app[settings_key]
    await outbox.deliver_due(
        client.app[sessions_key],
        transports.DropTransport(settings.mail.drop_dir),
        make_renderer(settings),
    )
    received = {}
    for path in settings.mail.drop_dir.glob("*.eml"):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        received[message["To"].addresses[0].addr_spec] = message
    vietnamese, english = received["l@x.vn"], received["s@x.la"]
    assert vietnamese["Subject"].startswith("[Giấy mời] Giao ban quý II")
    assert "Kính gửi" in vietnamese.get_body(("plain",)).get_content()
    assert english["Subject"].startswith("[Invitation] Giao ban quý II")
    assert "Dear Hội hữu nghị Việt Nam tại Lào" in english.get_body(("plain",)).get_content()

    async with session_factory() as session, session.begin():
        token = await tokens.site_token(session, abroad.id, secret_key=TEST_SECRET)
    page = await (await client.get(f"/s/{token}")).text()
    assert "Will your bridge point attend?" in page
    chosen = await (await client.get(f"/s/{token}?lang=vi")).text()
    assert "Điểm cầu có tham dự không?" in chosen


async def test_the_language_travels_through_import_and_export(session_factory: Any):
    sheet = (
        "code,name,locale\r\nvinh-phuc,Liên hiệp Vĩnh Phúc,\r\nlao,Hội hữu nghị tại Lào,en\r\n"
    ).encode()
    async with session_factory() as session, session.begin():
        report = await imports.import_sites(session, content=sheet, kind="csv", dry_run=False)
        assert report.created == 2
        exported = await export.export_sites_csv(session)
    assert "lao,Hội hữu nghị tại Lào,,,,,,en," in exported.decode("utf-8-sig")
    bad = b"code,name,locale\r\nx,X,fr\r\n"
    async with session_factory() as session, session.begin():
        with pytest.raises(Invalid) as refused:
            await imports.import_sites(session, content=bad, kind="csv", dry_run=False)
    (problem,) = refused.value.problems
    assert (problem.field, problem.line) == ("locale", 2)
