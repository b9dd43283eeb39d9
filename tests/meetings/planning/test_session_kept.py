"""The session page is kept per viewer while nothing changes (meetings.core.kept_pages,
and its panels: meetings.core.pages.panels): a change committed from outside the app
shows at once, and a viewer never gets another's page."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from agendas.programme import programme
from agendas.programme.models import AgendaItemIn
from meetings.accounts.models import Role
from meetings.core.settings import Settings
from meetings.core.store import utcnow
from tests.factories import csrf_from, login, make_scheduled_meeting, make_site, make_user


async def _session(session_factory: Any) -> int:
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        await make_user(session, username="chair", role=Role.chair)
        site = await make_site(session, name="Xã Kept")
        meeting_id = await make_scheduled_meeting(
            session, starts_at=utcnow() + timedelta(days=3), site_ids=[site.id]
        )
        await programme.replace_agenda(
            session,
            meeting_id,
            [AgendaItemIn(title="Mục Alpha", duration_minutes=15)],
            version=None,
        )
    return meeting_id


def _outside(settings: Settings, statement: str) -> None:
    """A commit by another connection than the app's, as another process would make."""
    with sqlite3.connect(settings.database.url.split("///", 1)[1]) as other:
        other.execute(statement)


async def test_a_change_from_outside_shows_on_a_warm_page(
    client: TestClient, session_factory: Any, settings: Settings
) -> None:
    meeting_id = await _session(session_factory)
    await login(client, "org")
    path = f"/sessions/{meeting_id}"
    first = await (await client.get(path)).text()
    assert first == await (await client.get(path)).text()  # warm, and kept as it was
    assert "Mục Alpha" in first
    _outside(settings, "UPDATE agendaitem SET title = 'Mục Beta'")
    renamed = await (await client.get(path)).text()
    assert "Mục Beta" in renamed and "Mục Alpha" not in renamed
    _outside(settings, "UPDATE meeting SET title = 'Giao ban đổi tên'")
    assert "Giao ban đổi tên" in await (await client.get(path)).text()
    before = await (await client.get(path + "?lang=en")).text()
    _outside(settings, "UPDATE participation SET rsvp = 'declined'")
    answered = await (await client.get(path + "?lang=en")).text()
    assert answered != before and "Declined" in answered


async def test_a_viewer_never_gets_another_viewers_page(
    client: TestClient, session_factory: Any
) -> None:
    meeting_id = await _session(session_factory)
    path = f"/sessions/{meeting_id}"
    other = TestClient(client.server)  # the same server, another browser's cookies
    await other.start_server()
    await login(client, "org")
    await login(other, "chair")
    for _ in range(2):  # cold, then warm
        org_page = await (await client.get(path)).text()
        chair_page = await (await other.get(path)).text()
        assert f'action="{path}/status"' in org_page
        assert f'action="{path}/status"' not in chair_page
        assert csrf_from(org_page) != csrf_from(chair_page)
        assert csrf_from(org_page) == csrf_from(await (await client.get("/")).text())
        assert csrf_from(chair_page) == csrf_from(await (await other.get("/")).text())
    await other.session.close()


async def test_a_kept_board_follows_a_check_in_from_outside_and_each_viewers_role(
    client: TestClient, session_factory: Any, settings: Settings
) -> None:
    """The board is kept like the session page: a site's check-in committed by another
    process shows on the next load, and the chair (who may not act) never gets the
    organiser's board with its action form."""
    meeting_id = await _session(session_factory)
    path = f"/sessions/{meeting_id}/board"
    other = TestClient(client.server)
    await other.start_server()
    await login(client, "org")
    await login(other, "chair")
    for _ in range(2):  # cold, then warm
        org_board = await (await client.get(path)).text()
        chair_board = await (await other.get(path)).text()
        assert "data-action-form" in org_board and "data-action-form" not in chair_board
        assert csrf_from(org_board) != csrf_from(chair_board)
    assert 'data-total="connected">0<' in org_board
    _outside(
        settings,
        "UPDATE participation SET attendance_status = 'connected', delegates_present = 4,"
        " attendance_version = attendance_version + 1",
    )
    assert 'data-total="connected">1<' in await (await client.get(path)).text()
    await other.session.close()
