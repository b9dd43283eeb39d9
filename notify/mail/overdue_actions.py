"""Overdue action items chased by mail: the scheduler's chaser (`chase_overdue_actions`)
and the e-mail it queues (`render_reminder`).

On a working day of the session's zone, from `[scheduler] chase_hour`, the owner of each
item past its due date and not done is mailed: a site at its contacts that mail can reach
(`meetings.register.bounces.reachable`), a cluster at its leading site's, a unit of the
office at the e-mail `[office] units` gives it. At most once per item every
`chase_every_working_days` working days: the item's `chased_on` is claimed by a
conditional UPDATE, so of two scheduler processes only one mails. Each chase, and an
owner with no address, is a line of the item's history (by "scheduler:reminded" or
"scheduler:no_address"). The mail is rendered at delivery from the item as it is then.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.record.changes import NO_ADDRESS, REMINDED
from agendas.record.models import ActionChange, ActionItem, ActionStatus
from meetings.core.i18n import format_day, translations
from meetings.core.labels import N_
from meetings.core.settings import Settings
from meetings.core.store import utcnow
from meetings.planning.models import Meeting
from meetings.planning.workdays import working_day_at, working_days_after
from meetings.register.models import Cluster
from notify.mail.answers import queued_row
from notify.mail.compose import Rendered, compose
from notify.mail.ical import Person
from notify.mail.models import Message, MessageKind
from notify.mail.recipients import site_contacts
from notify.mail.transports import Outgoing
from notify.site.links import site_page_url

if TYPE_CHECKING:  # the renderer calls this module: it is only named here
    from notify.mail.render import _Batch

log = logging.getLogger(__name__)
SUBJECT = N_("Overdue task")
INTRO = N_(
    "The following task from a session is past its due date. Please report its progress "
    "on your site's page, or tell the office when it will be done."
)


def _due(item: ActionItem, zone: str, now: datetime, every: int, hour: int) -> date | None:
    """Today in the session's zone when the item is to be chased now, else None."""
    today = working_day_at(now, zone, from_hour=hour)
    if today is None or item.due_on is None or item.due_on >= today:
        return None
    if item.chased_on is not None and working_days_after(item.chased_on, every) > today:
        return None
    return today


async def _addresses(
    session: AsyncSession, item: ActionItem, settings: Settings
) -> tuple[int | None, dict[str, str]]:
    """The site the mail is about (None for a unit) and its addresses → names."""
    site_id = item.owner_site_id
    if site_id is None and item.owner_cluster_id is not None:
        site_id = await session.scalar(
            select(col(Cluster.leader_site_id)).where(col(Cluster.id) == item.owner_cluster_id)
        )
    if site_id is None:
        email = settings.office.unit_email(item.owner_text) if item.owner_text else ""
        return None, {email.lower(): item.owner_text} if email else {}
    return site_id, await site_contacts(session, site_id)


async def _claim(session: AsyncSession, item_id: int, today: date) -> bool:
    """Mark the item chased today unless another process did: True when this one did."""
    result = await session.execute(
        update(ActionItem)
        .where(
            col(ActionItem.id) == item_id,
            or_(col(ActionItem.chased_on).is_(None), col(ActionItem.chased_on) < today),
        )
        .values(chased_on=today)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


async def chase_overdue_actions(session: AsyncSession, now: datetime, *, settings: Settings) -> int:
    """The chaser: queue the reminders of the overdue items due one now (see the module's
    doc). Returns how many e-mails it queued."""
    config = settings.scheduler
    rows = await session.execute(
        select(ActionItem, col(Meeting.timezone))
        .join(Meeting, col(Meeting.id) == col(ActionItem.meeting_id))
        .where(
            col(ActionItem.status) != ActionStatus.done,
            col(ActionItem.due_on).is_not(None),
            col(ActionItem.due_on) <= now.date(),  # a day of slack for the zones
        )
        .order_by(col(ActionItem.id))
    )
    queued = 0
    for item, zone in rows.all():
        today = _due(item, zone, now, config.chase_every_working_days, config.chase_hour)
        if today is None or item.id is None or not await _claim(session, item.id, today):
            continue
        site_id, addresses = await _addresses(session, item, settings)
        values = [
            queued_row(
                now,
                meeting_id=item.meeting_id,
                site_id=site_id,
                recipient=email,
                recipient_name=name,
                kind=MessageKind.action_chase,
                dedupe_key=f"overdue:{item.id}:{today}:{email}"[:200],
                action_item_id=item.id,
            )
            for email, name in addresses.items()
        ]
        if values:
            await session.execute(insert(Message), values)
        session.add(
            ActionChange(
                action_item_id=item.id,
                status=item.status,
                at=now,
                by=REMINDED if values else NO_ADDRESS,
                note=", ".join(addresses)[:1000],
            )
        )
        if not values:
            log.warning("overdue action item %s: its owner has no address to remind", item.id)
        queued += len(values)
    await session.flush()
    return queued


async def chased_items(session: AsyncSession, rows: Sequence[Message]) -> dict[int, ActionItem]:
    """The action items a batch's reminders tell, in one query."""
    ids = {row.action_item_id for row in rows if row.action_item_id}
    if not ids:
        return {}
    found = await session.scalars(select(ActionItem).where(col(ActionItem.id).in_(ids)))
    return {item.id or 0: item for item in found.all()}


def render_reminder(batch: _Batch, message: Message) -> Outgoing:
    """One reminder (text and HTML), in the site's language or the office's for a unit."""
    meeting = batch.meetings.get(message.meeting_id)
    item = batch.followup.overdue.get(message.action_item_id or 0)
    if meeting is None or item is None:
        raise LookupError(f"message {message.id} has no action item any more")
    renderer = batch.renderer
    settings = renderer.settings
    site = batch.sites.get(message.site_id)
    locale = (site.locale if site else "") or settings.organisation.locale
    gettext = translations(locale).gettext
    token = batch.links.get(site.id or 0) if site else None
    context = {
        "intro": gettext(INTRO),
        "meeting": meeting,
        "item": item,
        "due": format_day(item.due_on, locale),
        "session_day": format_day(meeting.starts_at, locale, meeting.timezone),
        "site_url": site_page_url(settings.server.public_url, token) if token else "",
        "recipient_name": message.recipient_name,
        "organisation": settings.organisation,
        "locale": locale,
        "translations": translations(locale),
    }
    text = renderer.env.get_template("mail/action_chase.txt").render(context)
    html = renderer.env.get_template("mail/action_chase.html").render(context)
    return compose(
        sender=renderer.sender,
        recipient=Person(message.recipient_name, message.recipient),
        rendered=Rendered(f"[{gettext(SUBJECT)}] {item.text[:80]}", text, html),
        calendar=None,
        method=None,
        now=utcnow(),
        reply_to=renderer.reply_to,
        envelope_sender=renderer.envelope_sender(message),
    )
