"""Test data factories and a logged-in client helper."""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.accounts import accounts
from meetings.accounts.models import Role, UserCreate, UserPublic
from meetings.planning import lifecycle
from meetings.planning.models import MeetingCreate, MeetingStatus
from meetings.register import sites
from meetings.register.models import ClusterCreate, ClusterPublic, ContactIn, SiteCreate, SitePublic

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


async def make_user(
    session: AsyncSession,
    *,
    username: str | None = None,
    role: Role = Role.organiser,
    password: str = PASSWORD,
) -> UserPublic:
    name = username or f"user{next(_counter)}"
    return await accounts.create_user(
        session, UserCreate(username=name, role=role, full_name=name.title(), password=password)
    )


async def make_cluster(session: AsyncSession, **fields: Any) -> ClusterPublic:
    n = next(_counter)
    data = {"code": f"C{n}", "name": f"Cụm {n}", **fields}
    return await sites.create_cluster(session, ClusterCreate(**data))


async def make_site(session: AsyncSession, **fields: Any) -> SitePublic:
    n = next(_counter)
    data: dict[str, Any] = {
        "code": f"S{n}",
        "name": f"Liên hiệp các tổ chức hữu nghị tỉnh {n}",
        "province": f"Tỉnh {n}",
        "contacts": [ContactIn(name=f"Người liên hệ {n}", email=f"lienhe{n}@example.org")],
        **fields,
    }
    return await sites.create_site(session, SiteCreate(**data))


async def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the real form; returns the CSRF token for later unsafe requests."""
    page = await client.get("/login")
    token = csrf_from(await page.text())
    response = await client.post(
        "/login",
        data={"username": username, "password": password, "_csrf": token},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    home = await client.get("/")
    assert home.status == 200, (home.status, await home.text())
    return csrf_from(await home.text())


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


async def bearer(session: AsyncSession, username: str) -> dict[str, str]:
    token = await accounts.create_token(session, username=username)
    return {"Authorization": f"Bearer {token}"}


async def make_scheduled_meeting(
    session: AsyncSession,
    *,
    starts_at: datetime,
    site_ids: list[int],
    cluster_id: int | None = None,
    **fields: Any,
) -> int:
    """A scheduled three-hour session inviting `site_ids` (a cluster's own meeting with
    `cluster_id`); returns its id."""
    meeting = await lifecycle.create_meeting(
        session,
        MeetingCreate(
            title=fields.pop("title", "Giao ban trực tuyến"),
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=3),
            site_ids=site_ids,
            **fields,
        ),
        organiser_id=None,
        default_location="Hội trường",
        cluster_id=cluster_id,
    )
    await lifecycle.change_status(session, meeting.id, MeetingStatus.scheduled)
    return meeting.id


@contextlib.contextmanager
def statements_run(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements sent through `engine` (a sync engine: an async one's
    `.sync_engine`) while the block runs, as the database receives them."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
