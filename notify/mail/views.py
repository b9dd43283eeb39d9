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

from meetings.core.access import ANY_ROLE, ORGANISERS, allow, current_user
from meetings.core.errors import DomainError, FieldProblem, Invalid, NotFound
from meetings.core.forms import problems_of, text
from meetings.core.headers import as_document
from meetings.core.keys import locale_key, settings_key, translations_key
from meetings.core.labels import N_
from meetings.core.pages import _, flash
from meetings.core.scope import acts_as
from meetings.core.store import utcnow
from meetings.core.web import db, path_id, url
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.phases import ranks
from notify.mail import invitations, messages, recipients, versions
from notify.mail.keys import wake_key
from notify.mail.labels import MAIL_HEADER_LABELS
from notify.mail.models import MessageKind
from notify.mail.transports import eml_name
from notify.site import tokens
from notify.site.links import site_page_url

#: Rows listed on the session page; the API pages through all of them.
LISTED = 200
#: The invitations panel on the session page: first once they are out, last after the day.
RANKS = ranks(40, 20, 60, 85, 90, 90, 90)


def _may_send(request: web.Request) -> bool:
    user = current_user(request)
    return user is not None and acts_as(request, ORGANISERS)


async def invitations_panel(request: web.Request, meeting_id: int) -> dict[str, Any]:
    """Who will get what, how far sending has got, and each recipient's message."""
    async with db(request) as session:
        meeting = await get_meeting_row(session, meeting_id)
        try:
            plan = await invitations.invitation_plan(session, meeting_id)
            unreachable = plan.unreachable
        except DomainError:  # an ended or cancelled session sends nothing more
            plan = invitations.InvitationPlan([])
            unreachable = await recipients.unreachable_sites(session, meeting_id)
        summary = await messages.delivery_summary(session, meeting_id, now=utcnow())
        listed = await messages.problems_first(session, meeting_id, limit=LISTED)
    return {
        "template": "mail/invitations_panel.html",
        "ranks": RANKS,
        "meeting_id": meeting_id,
        "open": meeting.status in ("draft", "scheduled"),
        "plan": invitations.by_kind(plan.planned),
        "versions": plan,
        "update_groups": versions.grouped(
            ((p.seen_before, p.seen or {}) for p in plan.planned if p.kind == MessageKind.update),
            request.get(locale_key) or request.app[settings_key].organisation.locale,
        ),
        "summary": summary,
        "messages": listed,
        "listed_all": summary.total <= LISTED,
        "is_drop": request.app[settings_key].mail.mode == "drop",
        "may_send": _may_send(request),
        "unreachable": unreachable,
    }


def _back(request: web.Request, meeting_id: int) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(url(request, "session", id=meeting_id, fragment="invitations"))


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
        state = problems_of(exc, request[translations_key].gettext)
        details = "; ".join(state.errors.values()) or state.summary
        await flash(request, _(request, "Not sent: {details}").format(details=details))
        raise _back(request, meeting_id) from None
    if not report.total:
        await flash(request, _(request, "Nothing to send: every site has the latest version."))
        raise _back(request, meeting_id)
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
    raise _back(request, meeting_id)


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
        state = problems_of(exc, request[translations_key].gettext)
        await flash(request, "; ".join(state.errors.values()))
        raise _back(request, meeting_id) from None
    request.app[wake_key].set()
    await flash(request, _(request, "Queued again for {recipient}.").format(recipient=recipient))
    raise _back(request, meeting_id)


# --- the mail drop ---------------------------------------------------------------------


def _header_value(message: EmailMessage, name: str) -> str | datetime:
    """A header as the page shows it: the date as a moment (shown in the user's language
    and the session's zone), the others as decoded text."""
    value = message[name]
    moment = getattr(value, "datetime", None) if name == "Date" else None
    return moment if isinstance(moment, datetime) and moment.tzinfo else str(value)


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
        "headers": [
            (label, _header_value(message, name))
            for name, label in MAIL_HEADER_LABELS.items()
            if message[name] is not None
        ],
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
        row = await messages.get_message(session, meeting_id, path_id(request, "message_id"))
        meeting = await get_meeting_row(session, meeting_id)
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
    parsed = BytesParser(policy=policy.default).parsebytes(data)
    if request.query.get("part") == "html":
        # The frame of the page below: the message's own styles, never its scripts.
        html = _parts(parsed)["html"]
        return as_document(web.Response(text=html, content_type="text/html"))
    return aiohttp_jinja2.render_template(
        "mail/message_view.html",
        request,
        {"row": row, "meeting_id": meeting_id, "tz": meeting.timezone, **_parts(parsed)},
    )


# --- a site's link ---------------------------------------------------------------------


async def site_link_panel(request: web.Request, site_id: int) -> dict[str, Any]:
    settings = request.app[settings_key]
    may = _may_send(request)
    link = ""
    if may:  # only organisers see the secret (to pass it on by phone or chat)
        async with db(request) as session:
            token = await tokens.site_token(
                session, site_id, secret_key=settings.security.secret_key
            )
        link = site_page_url(settings.server.public_url, token)
    return {"template": "site/link_panel.html", "site_id": site_id, "url": link, "may": may}


@allow(*ORGANISERS)
async def revoke_site_link(request: web.Request) -> web.Response:
    site_id = path_id(request)
    async with db(request) as session:
        await tokens.revoke(
            session, site_id, secret_key=request.app[settings_key].security.secret_key
        )
    await flash(request, _(request, "The old link no longer works. Send the new link to the site."))
    raise web.HTTPSeeOther(url(request, "site", id=site_id, fragment="site-link"))
