"""JSON API of notify/: queue invitations, read the outbox, calendar downloads and feeds."""

from __future__ import annotations

import dataclasses

from aiohttp import web
from sqlmodel import SQLModel

from meetings.core.access import ANY_ROLE, ORGANISERS, allow, public_token
from meetings.core.i18n import pick_locale
from meetings.core.keys import settings_key
from meetings.core.store import utcnow
from meetings.core.types import Moment
from meetings.core.web import db, int_query, items_response, json_body, model_response, path_id
from meetings.planning.lifecycle import get_meeting_row
from notify.mail import calendars, invitations, letter, messages
from notify.mail.keys import wake_key
from notify.mail.models import MessageKind, MessagePublic
from notify.mail.render import environment
from notify.site import tokens
from notify.site.links import site_page_url
from notify.site.sessions import feed_sessions


class InvitationsRequest(SQLModel):
    #: Send at this time instead of now (the scheduler picks it up then).
    send_at: Moment | None = None


class InvitationsQueued(SQLModel):
    invitations: int
    updates: int
    cancellations: int
    total: int


@allow(*ORGANISERS)
async def queue_invitations(request: web.Request) -> web.Response:
    data = (
        await json_body(request, InvitationsRequest)
        if request.can_read_body
        else InvitationsRequest()
    )
    async with db(request) as session:
        report = await invitations.queue_invitations(
            session,
            path_id(request),
            secret_key=request.app[settings_key].security.secret_key,
            send_after=data.send_at,
        )
    request.app[wake_key].set()  # the delivery worker starts now, not at its next tick
    return model_response(
        InvitationsQueued(
            invitations=report.invitations,
            updates=report.updates,
            cancellations=report.cancellations,
            total=report.total,
        ),
        status=202,
    )


@allow(*ANY_ROLE)
async def list_messages(request: web.Request) -> web.Response:
    meeting_id = path_id(request)
    limit = int_query(request, "limit", 500, 1, 10_000)
    offset = int_query(request, "offset", 0, 0, 2**31)
    async with db(request) as session:
        items, total = await messages.messages_page(session, meeting_id, limit=limit, offset=offset)
    return items_response(items, total)


@allow(*ANY_ROLE)
async def meeting_calendar(request: web.Request) -> web.Response:
    settings = request.app[settings_key]
    async with db(request) as session:
        meeting = await get_meeting_row(session, path_id(request))
        data = calendars.meeting_download(meeting, settings=settings, now=utcnow())
    return _ics(data, f"giaoban-{meeting.id}.ics")


@allow(*ANY_ROLE)
async def meeting_letter(request: web.Request) -> web.Response:
    """The giấy mời as PDF: to all invited sites, or with ?site_id= to one of them."""
    site_id = int_query(request, "site_id", 0, 1, 2**31 - 1) or None
    return await letter_response(request, path_id(request), site_id)


async def letter_response(
    request: web.Request, meeting_id: int, site_id: int | None
) -> web.Response:
    """The letter PDF (shared by the organisers' API and the site's own page)."""
    settings = request.app[settings_key]
    locale = pick_locale(request.query.get("locale"), default=settings.organisation.locale)
    async with db(request) as session:
        found = await letter.load_letter(
            session,
            meeting_id,
            site_id=site_id,
            settings=settings,
            issued_on=letter.issue_date(utcnow(), settings.organisation),
        )
        document = letter.letter_document(
            environment(), found, organisation=settings.organisation, locale=locale
        )
    pdf = await letter.pdf_bytes(document)
    filename = letter.letter_filename(meeting_id, found.site.code if found.site else "")
    return web.Response(
        body=pdf,
        headers={
            "Content-Type": letter.PDF_TYPE,
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@public_token
async def site_feed(request: web.Request) -> web.Response:
    settings = request.app[settings_key]
    async with db(request) as session:
        site = await tokens.site_for_token(session, request.match_info["site_token"])
        shown = await feed_sessions(session, site_id=site.id or 0)
        meetings = [s.meeting for s in shown]
        data = calendars.site_feed(site, meetings, settings=settings, now=utcnow())
    return _ics(data, f"giaoban-{site.code}.ics", attachment=False)


def _ics(data: bytes, filename: str, *, attachment: bool = True) -> web.Response:
    disposition = "attachment" if attachment else "inline"
    return web.Response(
        body=data,
        headers={
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "private, max-age=300",
        },
    )


class DeliverySummaryOut(SQLModel):
    total: int
    queued: int
    sending: int
    sent: int
    failed: int
    waiting: int


@allow(*ANY_ROLE)
async def delivery_summary(request: web.Request) -> web.Response:
    async with db(request) as session:
        await get_meeting_row(session, path_id(request))
        found = await messages.delivery_summary(session, path_id(request), now=utcnow())
    return model_response(DeliverySummaryOut(**dataclasses.asdict(found)))


@allow(*ORGANISERS)
async def resend_message(request: web.Request) -> web.Response:
    async with db(request) as session:
        row = await invitations.resend(session, path_id(request), path_id(request, "message_id"))
        out = MessagePublic.model_validate(row)
    request.app[wake_key].set()
    return model_response(out, status=202)


class PlannedOut(SQLModel):
    recipient: str
    recipient_name: str
    site_id: int | None
    kind: MessageKind


class UnreachableOut(SQLModel):
    """An invited site no e-mail can reach (see recipients.unreachable_sites)."""

    site_id: int
    site_name: str
    #: "no_address": no contact with an e-mail; "bounced": every address bounced for good.
    reason: str
    #: The bounce's reason as the server gave it ("5.1.1 user unknown").
    detail: str


class PreviewOut(SQLModel):
    """The planned messages as a page of items, and the invited sites they cannot reach."""

    items: list[PlannedOut]
    total: int
    unreachable: list[UnreachableOut]


@allow(*ORGANISERS)
async def preview_invitations(request: web.Request) -> web.Response:
    async with db(request) as session:
        plan = await invitations.invitation_plan(session, path_id(request))
    items = [
        PlannedOut(recipient=p.email, recipient_name=p.name, site_id=p.site_id, kind=p.kind)
        for p in plan.planned
    ]
    unreachable = [UnreachableOut.model_validate(u, from_attributes=True) for u in plan.unreachable]
    return model_response(PreviewOut(items=items, total=len(items), unreachable=unreachable))


class SiteLinkOut(SQLModel):
    site_id: int
    url: str


@allow(*ORGANISERS)
async def revoke_site_link(request: web.Request) -> web.Response:
    settings = request.app[settings_key]
    async with db(request) as session:
        token = await tokens.revoke(
            session, path_id(request), secret_key=settings.security.secret_key
        )
    return model_response(
        SiteLinkOut(site_id=path_id(request), url=site_page_url(settings.server.public_url, token))
    )
