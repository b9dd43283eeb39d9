"""The answer to a recommendation, mailed to the site that raised it.

Queued by the receiver of `recommendation_answered`, in the transaction that saves the
answer, so the mail exists exactly when the answer does: one outbox row per contact of
the raising site that mail can reach (`meetings.register.bounces.reachable`, the one
rule). Rendered at delivery from the recommendation as it is then, in the site's
language; a plain message, with no calendar and no letter.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.record.models import Recommendation, RecommendationStatus
from meetings.core.i18n import format_moment, translations
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.planning.models import Meeting
from meetings.register.models import Site
from notify.mail.compose import Rendered, attachment_part, compose
from notify.mail.ical import Person
from notify.mail.models import Message, MessageKind, MessageStatus
from notify.mail.recipients import site_contacts
from notify.mail.transports import Outgoing

if TYPE_CHECKING:  # the renderer calls this module: it is only named here
    from notify.mail.render import MessageRenderer

SUBJECT = N_("Answer to your recommendation")
INTRO = N_("Your site raised the following recommendation. Here is the answer.")


def queued_row(now: datetime, **fields: object) -> dict[str, object]:
    """An outbox row to insert for a plain mail (answers, reminders): queued, due now."""
    return {
        "status": MessageStatus.queued,
        "sequence": 0,
        "attempts": 0,
        "last_error": "",
        "send_after": now,
        "message_id": "",
        "created_at": now,
        **fields,
    }


def plain_mail(
    renderer: MessageRenderer,
    message: Message,
    rendered: Rendered,
    attachments: tuple[bytes, ...] = (),
) -> Outgoing:
    """A plain e-mail to the row's recipient: no calendar, no letter."""
    return compose(
        sender=renderer.sender,
        recipient=Person(message.recipient_name, message.recipient),
        rendered=rendered,
        calendar=None,
        method=None,
        now=utcnow(),
        attachments=attachments,
        reply_to=renderer.reply_to,
        envelope_sender=renderer.envelope_sender(message),
    )


async def queue_answer(session: AsyncSession, recommendation_id: int) -> int:
    """The receiver of `recommendation_answered`: the answer to every reachable contact of
    the site that raised it (none for the central hall's own). One row per address and
    version of the answer (the unique key), so a signal seen twice queues nothing more.
    Returns how many e-mails it queued."""
    rec = await session.get(Recommendation, recommendation_id)
    if rec is None or rec.site_id is None or rec.status != RecommendationStatus.answered:
        return 0
    found = await site_contacts(session, rec.site_id)
    now = utcnow()
    values = [
        queued_row(
            now,
            meeting_id=rec.meeting_id,
            site_id=rec.site_id,
            recipient=email,
            recipient_name=name,
            kind=MessageKind.recommendation_answer,
            dedupe_key=f"answer:{recommendation_id}:{rec.version}:{email}"[:200],
            recommendation_id=recommendation_id,
        )
        for email, name in found.items()
    ]
    if values:
        await session.execute(insert(Message), values)
    return len(values)


@dataclass(frozen=True)
class Told:
    """A recommendation an answer mail tells, and its answer's document as an attachment
    part (None without one, or when its file is gone: the answer goes without it)."""

    rec: Recommendation
    document: bytes | None


async def answered(
    session: AsyncSession, recommendation_ids: set[int], *, folder: Path
) -> dict[int, Told]:
    """The recommendations a batch of answer mails tells, in one query, with their
    documents read once for all the contacts."""
    if not recommendation_ids:
        return {}
    rows = await session.scalars(
        select(Recommendation).where(col(Recommendation.id).in_(recommendation_ids))
    )
    found = {}
    for rec in rows.all():
        part = None
        path = folder / rec.answer_stored_name
        if rec.answer_stored_name and path.is_file():
            content = await asyncio.to_thread(path.read_bytes)
            part = attachment_part(rec.answer_filename, rec.answer_content_type, content)
        found[rec.id or 0] = Told(rec, part)
    return found


def render_answer(
    renderer: MessageRenderer,
    meeting: Meeting,
    site: Site,
    told: Told | None,
    message: Message,
) -> Outgoing:
    """One answer e-mail (text and HTML) to a contact of the raising site, in its language,
    with the answer's document attached."""
    if told is None:
        raise LookupError(f"message {message.id} has no recommendation any more")
    rec = told.rec
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
    attachments = (told.document,) if told.document else ()
    return plain_mail(renderer, message, Rendered(subject, text, html), attachments)
