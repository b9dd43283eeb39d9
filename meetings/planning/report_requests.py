"""Reports a session asks its sites for (issue #16): the organiser names a report and its
deadline, each invited site uploads its file from its page, the organiser follows who
sent, who was late and who is missing, and takes every received file as one ZIP.

A site's file is checked like a session document (type read from the content, size
limit [documents] max_size_mb) and kept under the same folder; a new upload replaces the
site's previous one. A late upload is accepted: lateness is when it came, not a refusal.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import zipfile
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.errors import FieldProblem, Invalid, NotFound
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.planning.documents import KINDS, checked_file, safe_filename, stored_file
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Participation
from meetings.planning.request_models import (
    ReportChase,
    ReportRequest,
    ReportRequestCreate,
    ReportRequestPublic,
    RequestCounts,
    SiteReport,
    SiteReportPublic,
)
from meetings.planning.visible import invitation
from meetings.planning.workdays import planning_deadlines
from meetings.register.models import Site

#: What the organiser may list: every invited site, or those in one state.
STATES = ("sent", "late", "missing")


async def create_request(
    session: AsyncSession, meeting_id: int, data: ReportRequestCreate, *, by: str
) -> ReportRequestPublic:
    """A new request; without a deadline, the session's documents deadline (Decision 45:
    3 working days before its day), so reports come in with the documents."""
    meeting = await get_meeting_row(session, meeting_id)
    due_at = data.due_at
    if due_at is None:
        deadlines = planning_deadlines(
            starts_at=meeting.starts_at, timezone=meeting.timezone, now=utcnow(), is_urgent=False
        )
        due_at = next(d.due_at for d in deadlines if d.kind == "documents")
    row = ReportRequest(
        meeting_id=meeting_id,
        title=data.title,
        due_at=due_at,
        created_by=by,
        auto_chase=data.auto_chase,
        remind_days_before=data.remind_days_before,
    )
    session.add(row)
    await session.flush()
    return ReportRequestPublic.model_validate(row)


async def requests_of(
    session: AsyncSession, *, meeting_ids: Collection[int]
) -> dict[int, list[ReportRequest]]:
    """Each session's requests, soonest due first, in one query (a site's page shows
    many sessions)."""
    found: dict[int, list[ReportRequest]] = {}
    for row in await session.scalars(
        select(ReportRequest)
        .where(col(ReportRequest.meeting_id).in_(meeting_ids))
        .order_by(col(ReportRequest.due_at), col(ReportRequest.id))
    ):
        found.setdefault(row.meeting_id, []).append(row)
    return found


async def list_requests(session: AsyncSession, meeting_id: int) -> list[ReportRequestPublic]:
    await get_meeting_row(session, meeting_id)
    rows = (await requests_of(session, meeting_ids=[meeting_id])).get(meeting_id, [])
    return [ReportRequestPublic.model_validate(r) for r in rows]


async def get_request(session: AsyncSession, meeting_id: int, request_id: int) -> ReportRequest:
    row = await session.get(ReportRequest, request_id)
    if row is None or row.meeting_id != meeting_id:
        raise NotFound.of(
            N_("no report request {request_id} in session {meeting_id}"),
            request_id=request_id,
            meeting_id=meeting_id,
        )
    return row


async def site_reports(
    session: AsyncSession, *, site_id: int, request_ids: Collection[int]
) -> dict[int, SiteReport]:
    """The site's current file for each of these requests, in one query."""
    rows = await session.scalars(
        select(SiteReport).where(
            col(SiteReport.site_id) == site_id, col(SiteReport.request_id).in_(request_ids)
        )
    )
    return {r.request_id: r for r in rows}


async def submit_report(
    session: AsyncSession,
    meeting_id: int,
    request_id: int,
    site_id: int,
    *,
    filename: str,
    content: bytes,
    folder: Path,
    max_bytes: int,
) -> SiteReport:
    """The site's file for the request, replacing its previous one (removed once the new
    row is written). Only an invited site may send; a late file is kept, and shown late."""
    await invitation(session, meeting_id=meeting_id, site_id=site_id)
    await get_request(session, meeting_id, request_id)
    name, ext = checked_file(filename, content, max_bytes=max_bytes)
    # Beside the session's documents, in a folder of their own.
    stored_name = "/".join((str(meeting_id), "reports", f"{secrets.token_hex(16)}.{ext}"))
    previous = (await site_reports(session, site_id=site_id, request_ids=[request_id])).get(
        request_id
    )
    old_name = previous.stored_name if previous else None
    async with stored_file(folder / stored_name, content):
        row = previous or SiteReport(
            request_id=request_id,
            site_id=site_id,
            filename="",
            stored_name="",
            content_type="",
            size=0,
        )
        row.filename = name
        row.stored_name = stored_name
        row.content_type = KINDS[ext][0]
        row.size = len(content)
        row.uploaded_at = utcnow()
        session.add(row)
        await session.flush()  # a failure here removes the new file, the old one stays
    if old_name:
        await asyncio.to_thread((folder / old_name).unlink, missing_ok=True)
    return row


def state_of(report: SiteReport | None, due_at: datetime) -> str:
    """sent, late or missing: the one rule the page, the API and the counts follow."""
    if report is None:
        return "missing"
    return "late" if report.uploaded_at > due_at else "sent"


def _state_column(due_at: datetime) -> ColumnElement[str]:
    return case(
        (col(SiteReport.id).is_(None), "missing"),
        (col(SiteReport.uploaded_at) > due_at, "late"),
        else_="sent",
    )


def invited_with_reports(row: ReportRequest) -> Select[Site, SiteReport]:
    """Every invited site of the request's session, with its report if it sent one."""
    return (
        select(Site, SiteReport)
        .join(Participation, col(Participation.site_id) == col(Site.id))
        .outerjoin(
            SiteReport,
            and_(
                col(SiteReport.site_id) == col(Site.id),
                col(SiteReport.request_id) == row.id,
            ),
        )
        .where(col(Participation.meeting_id) == row.meeting_id)
    )


async def request_counts(session: AsyncSession, row: ReportRequest) -> RequestCounts:
    """How many invited sites sent in time, late, or not yet — one query."""
    state = _state_column(row.due_at).label("state")
    query = invited_with_reports(row).with_only_columns(state, func.count()).group_by(state)
    counts = dict((await session.execute(query)).all())
    return RequestCounts(**{s: counts.get(s, 0) for s in STATES})


@dataclass(frozen=True)
class SitesPage:
    items: list[SiteReportPublic]
    total: int


async def request_sites(
    session: AsyncSession, row: ReportRequest, *, state: str | None, limit: int, offset: int
) -> SitesPage:
    """One page of the invited sites with their report, by site code (thousands of sites:
    paged, never loaded whole)."""
    if state is not None and state not in STATES:
        raise Invalid(
            "bad state",
            [FieldProblem.of("state", N_("choose one of: {states}"), states=", ".join(STATES))],
        )
    query = invited_with_reports(row)
    if state is not None:
        query = query.where(_state_column(row.due_at) == state)
    total = await session.scalar(query.with_only_columns(func.count()).order_by(None))
    found = await session.execute(query.order_by(col(Site.code)).limit(limit).offset(offset))
    items = [
        SiteReportPublic(
            site_id=site.id or 0,
            site_code=site.code,
            site_name=site.name,
            state=state_of(report, row.due_at),
            filename=report.filename if report else None,
            size=report.size if report else None,
            uploaded_at=report.uploaded_at if report else None,
        )
        for site, report in found.all()
    ]
    chased = await last_chased(session, row, site_ids=[i.site_id for i in items])
    for item in items:
        item.last_chased_at = chased.get(item.site_id)
    return SitesPage(items, total or 0)


async def last_chased(
    session: AsyncSession, row: ReportRequest, *, site_ids: Collection[int]
) -> dict[int, datetime]:
    """When each of these sites was last reminded of the request (one query)."""
    found = await session.execute(
        select(col(ReportChase.site_id), func.max(col(ReportChase.chased_at)))
        .where(col(ReportChase.request_id) == row.id, col(ReportChase.site_id).in_(site_ids))
        .group_by(col(ReportChase.site_id))
    )
    return dict(found.all())


def archive_name(site: Site, report: SiteReport) -> str:
    """`<site code> - <site name>.<ext>` inside the ZIP (made safe as a file name)."""
    ext = report.stored_name.rpartition(".")[2]
    return safe_filename(f"{site.code} - {site.name}.{ext}")


class _Sink(io.RawIOBase):
    """Where the ZIP writer puts its bytes until they are sent: it never holds more than
    the file being added, so 10,000 reports stream in bounded memory."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


async def zip_chunks(
    session: AsyncSession, row: ReportRequest, *, folder: Path, batch: int = 500
) -> AsyncIterator[bytes]:
    """The received reports as one ZIP, piece by piece (a batch of rows per query, one
    file at a time in memory); a file gone from the disk is left out."""
    sink = _Sink()
    last_code = ""
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        while True:
            query = (
                select(Site, SiteReport)
                .join(SiteReport, col(SiteReport.site_id) == col(Site.id))
                .where(col(SiteReport.request_id) == row.id, col(Site.code) > last_code)
                .order_by(col(Site.code))
                .limit(batch)
            )
            found = (await session.execute(query)).all()
            for site, report in found:
                path = folder / report.stored_name
                if path.is_file():
                    await asyncio.to_thread(archive.write, path, archive_name(site, report))
                    yield sink.take()
            if len(found) < batch:
                break
            last_code = found[-1][0].code
    yield sink.take()
