"""What a site's own page shows: its sessions (a draft only once the site was sent an
invitation to it), with their agendas and documents, in a few queries whatever their
number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agendas.programme.models import AgendaItem
from agendas.programme.programme import agendas_of
from meetings.planning.document_models import Document
from meetings.planning.documents import documents_of
from meetings.planning.visible import SiteSession
from meetings.register.models import Site
from notify.site.sessions import page_sessions


@dataclass(frozen=True)
class SiteOverview:
    sessions: list[SiteSession]
    #: Session id → its agenda items, in order.
    agenda: dict[int, list[AgendaItem]]
    #: Session id → its documents, oldest first.
    files: dict[int, list[Document]]


async def site_overview(session: AsyncSession, site: Site, *, now: datetime) -> SiteOverview:
    """The site's sessions with their agendas and documents."""
    found = await page_sessions(session, site_id=site.id or 0, now=now)
    ids = [s.meeting.id for s in found if s.meeting.id is not None]
    return SiteOverview(
        sessions=found,
        agenda=await agendas_of(session, meeting_ids=ids),
        files=await documents_of(session, meeting_ids=ids),
    )
