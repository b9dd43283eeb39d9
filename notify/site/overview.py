"""What a site's own page shows: its sessions (a draft only once the site was sent an
invitation to it), with their agendas and documents, in a few queries whatever their
number; kept per link while the database is unchanged (`kept_overview`), with the page
as drawn from them (notify.site.drawn)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from agendas.programme.models import AgendaItem
from agendas.programme.programme import agendas_of
from agendas.record.progress import site_actions
from agendas.record.progress_models import SiteActionPublic
from meetings.core.commits import kept_in
from meetings.core.shared import Shared
from meetings.planning.document_models import Document
from meetings.planning.documents import documents_of
from meetings.planning.report_requests import requests_of, site_reports
from meetings.planning.request_models import ReportRequest, SiteReport
from meetings.planning.visible import SiteSession
from meetings.register.models import Site
from notify.site.drawn import Drawn
from notify.site.sessions import page_sessions


@dataclass(frozen=True)
class SiteOverview:
    sessions: list[SiteSession]
    #: Session id → its agenda items, in order.
    agenda: dict[int, list[AgendaItem]]
    #: Session id → its documents, oldest first.
    files: dict[int, list[Document]]
    #: Session id → the reports asked of the sites, soonest due first.
    report_requests: dict[int, list[ReportRequest]]
    #: Request id → the file this site sent for it.
    site_reports: dict[int, SiteReport]
    #: The site's open action items of every session, soonest due first.
    actions: list[SiteActionPublic]


async def site_overview(session: AsyncSession, site: Site, *, now: datetime) -> SiteOverview:
    """The site's sessions with their agendas and documents."""
    found = await page_sessions(session, site_id=site.id or 0, now=now)
    ids = [s.meeting.id for s in found if s.meeting.id is not None]
    asked = await requests_of(session, meeting_ids=ids)
    request_ids = [r.id for rows in asked.values() for r in rows if r.id is not None]
    return SiteOverview(
        sessions=found,
        agenda=await agendas_of(session, meeting_ids=ids),
        files=await documents_of(session, meeting_ids=ids),
        report_requests=asked,
        site_reports=await site_reports(session, site_id=site.id or 0, request_ids=request_ids),
        actions=await site_actions(session, site.id or 0, now=now),
    )


#: The links whose page is kept (the least recently read is dropped first).
KEPT_PAGES = 256


@dataclass(frozen=True)
class Seen:
    """A link's site and overview at one commit marker and minute, and its page as drawn
    in each language (notify.site.drawn): dropped with them, so a page is never older."""

    site: Site
    shown: SiteOverview
    #: Language → the page, drawn at the first visit that may share it.
    pages: dict[str, Drawn] = field(default_factory=dict)


#: The site pages' reads of this app (set up by meetings.core.app).
site_pages_key = web.AppKey("site_pages", Shared[Seen])


async def kept_overview(
    request: web.Request, token: str, read: Callable[[], Awaitable[Seen]]
) -> Seen:
    """The site of link `token` and its overview as `read` gives them, read again after any
    commit to the database (by any process: meetings.core.commits) and every minute (what
    is shown depends on the time too); kept with the whole link, so a site is never given
    another's. Many sites open their page at once before a session, each several times."""
    return await kept_in(request, request.app[site_pages_key], token, read, per_minute=True)
