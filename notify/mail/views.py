"""Organiser pages of notify/: the invitations panel of a session, resending, the mail
drop viewer, and the site-link panel of a site.

The panels are added to meetings' pages through `meetings.core.keys.panels_key` (wired in the
composition root), so the session and site pages need not know this package.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, cast
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.core.access import ANY_ROLE, ORGANISERS, allow, current_user
from meetings.core.errors import DomainError, FieldProblem, Invalid, NotFound
from meetings.core.forms import problems_of, text
from meetings.core.keys import settings_key
from meetings.core.labels import N_
from meetings.core.pages import _, flash
from meetings.core.store import utcnow
from meetings.core.web import db, path_id
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Participation
from meetings.register.models import Contact, Site
from notify.mail import invitations
from notify.mail.keys import wake_key
from notify.mail.models import Message, MessageStatus
from notify.mail.outbox import eml_name
from notify.site import tokens

#: Rows listed on the session page; the API pages through all of them.
LISTED = 200


def _may_send(request: web.Request) -> bool:
    user = current_user(request)
    return user is not None and (user.role in ORGANISERS or user.role == "admin")


async def invitations_panel(request: web.Request, meeting_id: int) -> dict[str, Any]:
    """Who will get what, how far sending has got, and each recipient's message."""
    async with db(request) as session:
        meeting = await get_meeting_row(session, meeting_id)
        try:
            plan = await invitations.plan_invitations(session, meeting_id)
        except DomainError:
            plan = []  # an ended or cancelled session sends nothing more
        summary = await invitations.delivery_summary(session, meeting_id, now=utcnow())
        problems_first = case((Message.status == MessageStatus.failed, 0), else_=1)
        rows = (
            await session.execute(
                select(Message, Site.name)
                .outerjoin(Site, Site.id == Message.site_id)  # type: ignore[arg-type]
                .where(Message.meeting_id == meeting_id)
                .order_by(problems_first, Message.id.desc())  # type: ignore[union-attr]
                .limit(LISTED)
            )
        ).all()
        sites_without_mail = await _sites_without_mail(session, meeting_id)
    by_kind: dict[str, list[invitations.Planned]] = {}
    for planned in plan:
        by_kind.setdefault(planned.kind, []).append(planned)
    return {
        "template": "mail/invitations_panel.html",
        "meeting_id": meeting_id,
        "open": meeting.status in ("draft", "scheduled"),
        "plan": by_kind,
        "summary": summary,
        "messages": [{"row": row, "site_name": name} for row, name in rows],
        "listed_all": summary.total <= LISTED,
        "is_drop": request.app[settings_key].mail.mode == "drop",
        "may_send": _may_send(request),
        "sites_without_mail": sites_without_mail,
    }


async def _sites_without_mail(session: AsyncSession, meeting_id: int) -> list[str]:
    """Invited sites nobody can be mailed at: the organiser must phone them."""
    has_mail = select(Contact.site_id).where(Contact.email != "")
    return list(
        (
            await session.scalars(
                select(Site.name)
                .join(Participation, Participation.site_id == Site.id)  # type: ignore[arg-type]
                .where(
                    Participation.meeting_id == meeting_id,
                    Site.id.not_in(has_mail),  # type: ignore[union-attr]
                )
                .order_by(Site.name)
            )
        ).all()
    )


def _back(meeting_id: int) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/sessions/{meeting_id}#invitations")


@allow(*ORGANISERS)
async def send_invitations(request: web.Request) -> web.Response:
    """The panel's form: now, or at a time typed in the session's time zone."""
    meeting_id = path_id(request)
    form = await request.post()
    try:
        async with db(request) as session:
            meeting = await get_meeting_row(session, meeting_id)
            send_after = None
            if text(form, "when") == "later":
                send_after = _send_time(text(form, "send_at"), meeting.timezone)
            report = await invitations.queue_invitations(
                session,
                meeting_id,
                secret_key=request.app[settings_key].security.secret_key,
                send_after=send_after,
            )
    except DomainError as exc:
        state = problems_of(exc, request["translations"].gettext)
        details = "; ".join(state.errors.values()) or state.summary
        await flash(request, _(request, "Not sent: {details}").format(details=details))
        raise _back(meeting_id) from None
    request.app[wake_key].set()
    message = _(
        request,
        "Queued: {invitations} invitations, {updates} updates, {cancellations} cancellations.",
    ).format(
        invitations=report.invitations,
        updates=report.updates,
        cancellations=report.cancellations,
    )
    await flash(request, message)
    raise _back(meeting_id)


def _send_time(value: str, zone: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(zone))
    except ValueError:
        raise Invalid("bad time", [FieldProblem("send_at", N_("Enter a date and time"))]) from None
    if moment <= utcnow():
        raise Invalid("past", [FieldProblem("send_at", N_("Choose a time in the future"))])
    return moment


@allow(*ORGANISERS)
async def resend_message(request: web.Request) -> web.Response:
    meeting_id = path_id(request)
    try:
        async with db(request) as session:
            row = await invitations.resend(session, meeting_id, path_id(request, "message_id"))
            recipient = row.recipient
    except Invalid as exc:
        state = problems_of(exc, request["translations"].gettext)
        await flash(request, "; ".join(state.errors.values()))
        raise _back(meeting_id) from None
    request.app[wake_key].set()
    await flash(request, _(request, "Queued again for {recipient}.").format(recipient=recipient))
    raise _back(meeting_id)


# --- the mail drop ---------------------------------------------------------------------


def _parts(message: EmailMessage) -> dict[str, Any]:
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    attachments = [
        {
            "filename": part.get_filename() or "",
            "type": part.get_content_type(),
            "size": len(cast(bytes, part.get_payload(decode=True)) or b""),
        }
        for part in message.iter_attachments()
    ]
    return {
        "headers": [(k, str(message[k])) for k in ("From", "To", "Subject", "Date", "Message-ID")],
        "text": text_part.get_content() if text_part else "",
        "html": html_part.get_content() if html_part else "",
        "attachments": attachments,
    }


@allow(*ANY_ROLE)
async def view_message(request: web.Request) -> web.StreamResponse:
    """A delivered message as the recipient got it (mail drop), or its .eml download."""
    meeting_id = path_id(request)
    settings = request.app[settings_key]
    async with db(request) as session:
        row = await session.get(Message, path_id(request, "message_id"))
        if row is None or row.meeting_id != meeting_id:
            raise NotFound("no such message")
    path = settings.mail.drop_dir / eml_name(row.message_id) if row.message_id else None
    if settings.mail.mode != "drop" or path is None or not path.is_file():
        raise NotFound(_(request, "Only messages delivered to the mail drop can be shown here."))
    data = await asyncio.to_thread(path.read_bytes)
    if request.query.get("download"):
        return web.Response(
            body=data,
            headers={
                "Content-Type": "message/rfc822",
                "Content-Disposition": f'attachment; filename="{path.name}"',
            },
        )
    parsed = cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(data))
    return aiohttp_jinja2.render_template(
        "mail/message_view.html",
        request,
        {"row": row, "meeting_id": meeting_id, **_parts(parsed)},
    )


# --- a site's link ---------------------------------------------------------------------


async def site_link_panel(request: web.Request, site_id: int) -> dict[str, Any]:
    settings = request.app[settings_key]
    may = _may_send(request)
    url = ""
    if may:  # only organisers see the secret (to pass it on by phone or chat)
        async with db(request) as session:
            token = await tokens.site_token(
                session, site_id, secret_key=settings.security.secret_key
            )
        url = f"{settings.server.public_url}/s/{token}"
    return {"template": "site/link_panel.html", "site_id": site_id, "url": url, "may": may}


@allow(*ORGANISERS)
async def revoke_site_link(request: web.Request) -> web.Response:
    site_id = path_id(request)
    async with db(request) as session:
        await tokens.revoke(
            session, site_id, secret_key=request.app[settings_key].security.secret_key
        )
    await flash(request, _(request, "The old link no longer works. Send the new link to the site."))
    raise web.HTTPSeeOther(f"/sites/{site_id}#site-link")
