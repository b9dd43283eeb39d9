"""The reminder to a site that has not sent a requested report (issue #16).

Queued by the receiver of `report_chased`, in the transaction of the chase, so the mails
exist exactly when the chase does: one outbox row per reachable contact of each site of
the request's latest chase round (`meetings.register.bounces.reachable`, the one rule).
Rendered at delivery in the site's language: the request's title, its deadline in the
session's time zone, and the site's page where it uploads the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.i18n import format_moment, translations
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.planning.models import Meeting
from meetings.planning.request_models import ReportChase, ReportRequest
from meetings.register.bounces import reachable
from meetings.register.models import Contact, Site
from notify.mail.answers import plain_mail, queued_row
from notify.mail.compose import Rendered
from notify.mail.models import Message, MessageKind
from notify.mail.transports import Outgoing

if TYPE_CHECKING:  # the renderer calls this module: it is only named here
    from notify.mail.render import MessageRenderer

SUBJECT = N_("Report reminder")
BEFORE = N_(
    "We have not yet received your site's report below. Please send it by the deadline "
    "from your site's page."
)
AFTER = N_(
    "The deadline for your site's report below has passed and we have not received it. "
    "Please send it as soon as possible from your site's page."
)


async def queue_chase(session: AsyncSession, request_id: int) -> int:
    """The receiver of `report_chased`: the reminder to every reachable contact of each
    site of the request's latest round, one row per site and address (the unique key, so
    a signal seen twice queues nothing more). Returns how many e-mails it queued.

    The round is read from the chase rows, not from the request (the session may hold
    the request as it was before the round's UPDATE)."""
    request = await session.get(ReportRequest, request_id)
    round_ = await session.scalar(
        select(func.max(col(ReportChase.round))).where(col(ReportChase.request_id) == request_id)
    )
    if request is None or round_ is None:
        return 0
    rows = await session.execute(
        select(col(ReportChase.site_id), col(Contact.email), col(Contact.name))
        .join(Contact, col(Contact.site_id) == col(ReportChase.site_id))
        .where(
            col(ReportChase.request_id) == request_id, col(ReportChase.round) == round_, reachable()
        )
        .order_by(col(ReportChase.site_id), col(Contact.position), col(Contact.id))
    )
    now = utcnow()
    found: dict[tuple[int, str], str] = {}
    for site_id, email, name in rows.all():
        found.setdefault((site_id, email.lower()), name)
    values = [
        queued_row(
            now,
            meeting_id=request.meeting_id,
            site_id=site_id,
            recipient=email,
            recipient_name=name,
            kind=MessageKind.report_chaser,
            dedupe_key=f"report-chase:{request_id}:{round_}:{site_id}:{email}"[:200],
            report_request_id=request_id,
        )
        for (site_id, email), name in found.items()
    ]
    if values:
        await session.execute(insert(Message), values)
    return len(values)


async def requested(session: AsyncSession, rows: Sequence[Message]) -> dict[int, ReportRequest]:
    """The requests a batch of reminders tells, in one query."""
    ids = {row.report_request_id for row in rows if row.report_request_id}
    if not ids:
        return {}
    found = await session.scalars(select(ReportRequest).where(col(ReportRequest.id).in_(ids)))
    return {r.id or 0: r for r in found.all()}


def render_chase(
    renderer: MessageRenderer,
    meeting: Meeting,
    site: Site,
    request: ReportRequest | None,
    message: Message,
    site_url: str,
) -> Outgoing:
    """One reminder (text and HTML) to a contact of the site, in its language."""
    if request is None:
        raise LookupError(f"message {message.id} has no report request any more")
    settings, env = renderer.settings, renderer.env
    locale = site.locale or settings.organisation.locale
    gettext = translations(locale).gettext
    context = {
        "intro": gettext(BEFORE if utcnow() <= request.due_at else AFTER),
        "meeting": meeting,
        "site": site,
        "request": request,
        "site_url": site_url,
        "recipient_name": message.recipient_name,
        "deadline": format_moment(request.due_at, locale, meeting.timezone),
        "organisation": settings.organisation,
        "locale": locale,
        "translations": translations(locale),
    }
    text = env.get_template("mail/report_chase.txt").render(context)
    html = env.get_template("mail/report_chase.html").render(context)
    subject = f"[{gettext(SUBJECT)}] {request.title}"
    return plain_mail(renderer, message, Rendered(subject, text, html))
