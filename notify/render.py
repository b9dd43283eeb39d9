"""The e-mail for an outbox row, rendered at delivery from the session's current data."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agendas.models import AgendaItem
from agendas.programme import timeline
from meetings.forms import N_
from meetings.i18n import (
    document_environment,
    format_moment,
    translations,
)
from meetings.meeting_models import Document, Meeting, MeetingStatus
from meetings.models import Site
from meetings.settings import Settings
from meetings.store import utcnow
from notify import letter, tokens
from notify.compose import Rendered, compose
from notify.ical import CalendarEvent, Method, Person, scheduling
from notify.models import Message, MessageKind
from notify.outbox import Renderer

SUBJECT_PREFIX = {
    MessageKind.invitation: N_("Invitation"),
    MessageKind.update: N_("Updated"),
    MessageKind.cancellation: N_("Cancelled"),
    MessageKind.reminder: N_("Reminder"),
    MessageKind.rsvp_chaser: N_("Please answer"),
    MessageKind.rehearsal: N_("Technical rehearsal"),
    MessageKind.minutes: N_("Notice of conclusions"),
}
#: The opening line of each kind (a cancellation says why in the template).
INTRO = {
    MessageKind.invitation: N_("You are invited to the following session."),
    MessageKind.update: N_("The following session has changed; your calendar will be updated."),
    MessageKind.cancellation: N_("The following session has been cancelled"),
    MessageKind.reminder: N_("Reminder: the following session starts soon."),
    MessageKind.rsvp_chaser: N_(
        "We have not received your answer yet. Please say on your site's page whether you "
        "attend and with how many delegates."
    ),
    MessageKind.rehearsal: N_(
        "Technical rehearsal: please connect your room now and check picture and sound "
        "before the session starts."
    ),
    MessageKind.minutes: N_(
        "The chair has approved the minutes of the following session. The conclusions "
        "and the tasks for your bridge point are in the attached minutes."
    ),
}
#: Kinds that carry a calendar object; reminders and notices are plain messages, since a
#: REQUEST with an unchanged SEQUENCE only confuses calendars.
CALENDAR_KINDS = frozenset({MessageKind.invitation, MessageKind.update, MessageKind.cancellation})
#: Messages that carry the formal letter (giấy mời) as a PDF attachment.
LETTER_KINDS = frozenset({MessageKind.invitation, MessageKind.update})


def environment() -> jinja2.Environment:
    """The one template environment of notify/ (e-mails and letters), with gettext."""
    return document_environment("notify")


@dataclass(frozen=True)
class _Programme:
    """A session's shared parts, loaded once per version for all its recipients."""

    agenda: list[AgendaItem]
    documents: list[Document]


def make_renderer(settings: Settings) -> Renderer:
    env = environment()
    text_template = env.get_template("notify/message.txt")
    html_template = env.get_template("notify/message.html")
    cache: dict[tuple[int, int], _Programme] = {}
    letters = letter.LetterCache()
    minutes_files: dict[tuple[int, int, str], bytes] = {}
    letter_files: dict[tuple[int, int, str, object], bytes] = {}

    async def minutes_pdf(
        session: AsyncSession, meeting_id: int, locale: str
    ) -> tuple[str, str, bytes]:
        """The latest approved minutes as PDF, rendered once per version and language."""
        from agendas import minutes, minutes_render

        row = await minutes.approved(session, meeting_id)
        key = (meeting_id, row.number, locale)
        if key not in minutes_files:
            minutes_files[key] = await asyncio.to_thread(
                minutes_render.to_pdf, minutes.data_of(row), locale=locale
            )
        name = f"bien-ban-{meeting_id}-v{row.number}.pdf"
        return (name, "application/pdf", minutes_files[key])

    sender = Person(settings.mail.from_name, settings.mail.from_address)
    default_locale = settings.organisation.locale

    async def programme(session: AsyncSession, meeting: Meeting) -> _Programme:
        key = (meeting.id or 0, meeting.version)
        if key not in cache:
            agenda = (
                await session.scalars(
                    select(AgendaItem)
                    .where(AgendaItem.meeting_id == meeting.id)
                    .order_by(AgendaItem.position)
                )
            ).all()
            documents = (
                await session.scalars(
                    select(Document)
                    .where(Document.meeting_id == meeting.id)
                    .order_by(Document.uploaded_at)
                )
            ).all()
            cache.clear()  # one session at a time is delivered in practice
            cache[key] = _Programme(list(agenda), list(documents))
        return cache[key]

    async def render(session: AsyncSession, message: Message) -> EmailMessage:
        meeting = await session.get(Meeting, message.meeting_id)
        site = await session.get(Site, message.site_id) if message.site_id else None
        if meeting is None or site is None:
            raise LookupError(f"message {message.id} has no session or site any more")
        shared = await programme(session, meeting)
        token = await tokens.site_token(
            session, site.id or 0, secret_key=settings.security.secret_key
        )
        await session.commit()  # only when the site had no link yet (issued at queueing)
        site_url = f"{settings.server.public_url}/s/{token}"
        site_zone = site.timezone or meeting.timezone
        locale = site.locale or default_locale  # the site's language, Vietnamese by default
        kind = MessageKind(message.kind)
        context = {
            "kind": kind.value,
            "intro": translations(locale).gettext(INTRO[kind]),
            "meeting": meeting,
            "site": site,
            "site_url": site_url,
            "agenda": shared.agenda,
            "documents": shared.documents,
            "locale": locale,
            "organisation": settings.organisation,
            "translations": translations(locale),
            "starts": format_moment(meeting.starts_at, locale, meeting.timezone),
            "ends": format_moment(meeting.ends_at, locale, meeting.timezone),
            "site_timezone": site_zone,
            "local_starts": format_moment(meeting.starts_at, locale, site_zone)
            if site_zone != meeting.timezone
            else "",
        }
        gettext = translations(locale).gettext
        day = meeting.starts_at.astimezone(ZoneInfo(meeting.timezone)).strftime("%d/%m/%Y")
        subject = f"[{gettext(SUBJECT_PREFIX[kind])}] {meeting.title} — {day}"
        cancelled = kind == MessageKind.cancellation or meeting.status == MeetingStatus.cancelled
        method: Method = "CANCEL" if cancelled else "REQUEST"
        text = text_template.render(context)
        event = CalendarEvent(
            uid=meeting.uid,
            sequence=max(meeting.sequence, message.sequence),
            summary=meeting.title,
            starts_at=meeting.starts_at,
            ends_at=meeting.ends_at,
            timezone=meeting.timezone,
            organizer=sender,
            location="; ".join(p for p in (site.address, site.endpoint, meeting.video_url) if p),
            description=text,
            url=site_url,
            is_cancelled=cancelled,
        )
        recipient = Person(message.recipient_name, message.recipient)
        now = utcnow()
        attachments: tuple[tuple[str, str, bytes], ...] = ()
        # The letter goes with what invites; a cancellation or a reminder has none.
        if kind in LETTER_KINDS and not cancelled:
            issued = letter.issue_date(now, settings.organisation)
            key = (meeting.id or 0, meeting.version, locale, issued)
            if key not in letter_files:  # one letter per session version and language
                html = letter.letter_html(
                    env,
                    letter.Letter(
                        meeting,
                        timeline(meeting, shared.agenda),
                        [d.filename for d in shared.documents],
                        issued,
                        # One letter to all the invited sites, the same PDF for every
                        # recipient: one per site (~250 ms) would make 10,000 sites take
                        # 40 min. The site-addressed letter is a download (its page, API).
                        bridge_point_count=await letter.bridge_point_count(
                            session, meeting.id or 0
                        ),
                    ),
                    organisation=settings.organisation,
                    locale=locale,
                )
                letter_files.clear()
                letter_files[key] = await letters.pdf(html)
            attachments = (
                (letter.letter_filename(meeting.id or 0), letter.PDF_TYPE, letter_files[key]),
            )
        if kind == MessageKind.minutes:
            attachments = (await minutes_pdf(session, meeting.id or 0, locale),)
        return compose(
            sender=sender,
            recipient=recipient,
            rendered=Rendered(subject, text, html_template.render(context)),
            calendar=scheduling(event, [recipient], method=method, now=now)
            if kind in CALENDAR_KINDS
            else None,
            method=method if kind in CALENDAR_KINDS else None,
            now=now,
            attachments=attachments,
        )

    return render
