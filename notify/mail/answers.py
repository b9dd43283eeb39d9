"""The answer to a recommendation, mailed to the site that raised it.

Queued by the receiver of `recommendation_answered`, in the transaction that saves the
answer, so the mail exists exactly when the answer does: one outbox row per contact of
the raising site that mail can reach (`meetings.register.bounces.reachable`, the one
rule). Rendered at delivery from the recommendation as it is then, in the site's
language; a plain message, with no calendar and no letter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.record.models import Recommendation, RecommendationStatus
from meetings.core.i18n import format_moment, translations
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.planning.models import Meeting
from meetings.register.bounces import reachable
from meetings.register.models import Contact, Site
from notify.mail.compose import Rendered, compose
from notify.mail.ical import Person
from notify.mail.models import Message, MessageKind, MessageStatus
from notify.mail.transports import Outgoing

if TYPE_CHECKING:  # the renderer calls this module: it is only named here
    from notify.mail.render import MessageRenderer

SUBJECT = N_("Answer to your recommendation")
INTRO = N_("Your site raised the following recommendation. Here is the answer.")


async def queue_answer(session: AsyncSession, recommendation_id: int) -> int:
    """The receiver of `recommendation_answered`: the answer to every reachable contact of
    the site that raised it (none for the central hall's own). One row per address and
    version of the answer (the unique key), so a signal seen twice queues nothing more.
    Returns how many e-mails it queued."""
    rec = await session.get(Recommendation, recommendation_id)
    if rec is None or rec.site_id is None or rec.status != RecommendationStatus.answered:
        return 0
    rows = await session.execute(
        select(col(Contact.email), col(Contact.name))
        .where(col(Contact.site_id) == rec.site_id, reachable())
        .order_by(col(Contact.position), col(Contact.id))
    )
    now = utcnow()
    found: dict[str, str] = {}
    for email, name in rows.all():
        found.setdefault(email.lower(), name)
    values = [
        {
            "meeting_id": rec.meeting_id,
            "site_id": rec.site_id,
            "recipient": email,
            "recipient_name": name,
            "kind": MessageKind.recommendation_answer,
            "status": MessageStatus.queued,
            "sequence": 0,
            "attempts": 0,
            "last_error": "",
            "send_after": now,
            "message_id": "",
            "dedupe_key": f"answer:{recommendation_id}:{rec.version}:{email}"[:200],
            "recommendation_id": recommendation_id,
            "created_at": now,
        }
        for email, name in found.items()
    ]
    if values:
        await session.execute(insert(Message), values)
    return len(values)


async def answered(
    session: AsyncSession, recommendation_ids: set[int]
) -> dict[int, Recommendation]:
    """The recommendations a batch of answer mails tells, in one query."""
    if not recommendation_ids:
        return {}
    rows = await session.scalars(
        select(Recommendation).where(col(Recommendation.id).in_(recommendation_ids))
    )
    return {r.id or 0: r for r in rows.all()}


def render_answer(
    renderer: MessageRenderer,
    meeting: Meeting,
    site: Site,
    rec: Recommendation | None,
    message: Message,
) -> Outgoing:
    """One answer e-mail (text and HTML) to a contact of the raising site, in its language."""
    if rec is None:
        raise LookupError(f"message {message.id} has no recommendation any more")
    settings, env = renderer.settings, renderer.env
    locale = site.locale or settings.organisation.locale
    gettext = translations(locale).gettext
    context = {
        "intro": gettext(INTRO),
        "meeting": meeting,
        "site": site,
        "rec": rec,
        "recipient_name": message.recipient_name,
        "raised": format_moment(rec.created_at, locale, meeting.timezone),
        "answered": format_moment(rec.answered_at, locale, meeting.timezone)
        if rec.answered_at
        else "",
        "organisation": settings.organisation,
        "locale": locale,
        "translations": translations(locale),
    }
    text = env.get_template("mail/answer.txt").render(context)
    html = env.get_template("mail/answer.html").render(context)
    subject = f"[{gettext(SUBJECT)}] {rec.topic or meeting.title}"
    return compose(
        sender=renderer.sender,
        recipient=Person(message.recipient_name, message.recipient),
        rendered=Rendered(subject, text, html),
        calendar=None,
        method=None,
        now=utcnow(),
        reply_to=renderer.reply_to,
        envelope_sender=renderer.envelope_sender(message),
    )
