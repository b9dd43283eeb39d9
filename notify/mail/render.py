"""The e-mail for an outbox row, rendered at delivery from the session's current data."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.programme.models import AgendaItem
from agendas.programme.programme import agendas_of, timeline
from meetings.core.errors import NotFound
from meetings.core.i18n import document_environment, translations
from meetings.core.labels import N_
from meetings.core.settings import Settings
from meetings.core.store import id_of, utcnow
from meetings.planning.document_models import Document
from meetings.planning.documents import documents_of
from meetings.planning.models import Meeting, MeetingStatus, Participation
from meetings.register.models import Site
from notify.inbound.addresses import return_path
from notify.mail import calendars, followup_mail, letter, overdue_actions, versions
from notify.mail.bodies import Stencils, Templates, Wording
from notify.mail.compose import Rendered, attachment_part, compose
from notify.mail.ical import CalendarEvent, Method, Person, declining
from notify.mail.ical_splice import scheduling
from notify.mail.models import Message, MessageKind
from notify.mail.notice_mail import NOTICE_KINDS, render_notice
from notify.mail.transports import Outgoing
from notify.mail.versions import SiteView
from notify.site import tokens
from notify.site.links import site_page_url

SUBJECT_PREFIX = {
    MessageKind.invitation: N_("Invitation"),
    MessageKind.update: N_("Updated"),
    MessageKind.cancellation: N_("Cancelled"),
    MessageKind.reminder: N_("Reminder"),
    MessageKind.rsvp_chaser: N_("Please answer"),
    MessageKind.rehearsal: N_("Technical rehearsal"),
    MessageKind.minutes: N_("Notice of conclusions"),
    MessageKind.declinecounter: N_("Proposal declined"),
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
    MessageKind.declinecounter: N_(
        "Thank you for proposing another time. The organiser keeps the session at the time "
        "below; your calendar entry stays as it is."
    ),
}
#: Kinds that carry a calendar object; reminders and notices are plain messages, since a
#: REQUEST with an unchanged SEQUENCE only confuses calendars.
CALENDAR_KINDS = frozenset({MessageKind.invitation, MessageKind.update, MessageKind.cancellation})
#: Messages that carry the formal letter (giấy mời) as a PDF attachment.
LETTER_KINDS = frozenset({MessageKind.invitation, MessageKind.update})


def environment() -> jinja2.Environment:
    """The one template environment of notify/ (e-mails and letters), with gettext."""
    return document_environment()


@dataclass(frozen=True)
class _Programme:
    """A session's shared parts, loaded once per version for all its recipients."""

    agenda: list[AgendaItem]
    documents: list[Document]


def make_renderer(settings: Settings) -> MessageRenderer:
    return MessageRenderer(settings)


class MessageRenderer:
    """Renders outbox rows from the sessions' current data, a batch at a time.

    `prepare` loads what a batch needs in a few queries (its sessions and their
    programmes, its sites and their links) and the attachments it shares (the letter,
    the minutes: one PDF per session version and language, one MIME part for every
    recipient); the function it returns then renders one row with no I/O. The bodies of
    a site are rendered once for all its contacts.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = environment()
        self.text_template = self.env.get_template("mail/message.txt")
        self.html_template = self.env.get_template("mail/message.html")
        self.templates = Templates(self.text_template, self.html_template, settings.organisation)
        self.sender = Person(settings.mail.from_name, settings.mail.from_address)
        #: With the inbound mailbox on, the sites' answers go to it: the calendar's
        #: ORGANIZER (Accept/Decline/Propose) and Reply-To; From stays the office's.
        self.organizer = calendars.organizer(settings)
        self.reply_to = self.organizer if settings.inbound.enabled else None
        self._letters = letter.LetterCache()
        #: Approved minutes as attachment parts, by session, version and language.
        self._minutes: dict[tuple[int, int, str], bytes] = {}

    def envelope_sender(self, message: Message) -> str:
        """The VERP return path of this outbox row when the inbound mailbox is on ("":
        the From address), so a bounce names the message that did not arrive."""
        inbound = self.settings.inbound
        if not inbound.enabled or message.id is None:
            return ""
        return return_path(inbound.address, message.id, self.settings.security.secret_key)

    async def render_one(self, session: AsyncSession, message: Message) -> Outgoing:
        """One row (the delivery renders batches; this is for a single message)."""
        return (await self.prepare(session, [message]))(message)

    async def prepare(
        self, session: AsyncSession, rows: Sequence[Message]
    ) -> Callable[[Message], Outgoing]:
        meeting_ids = {row.meeting_id for row in rows if row.meeting_id}
        site_ids = {row.site_id for row in rows if row.site_id}
        meetings = {
            m.id: m
            for m in (
                await session.scalars(select(Meeting).where(col(Meeting.id).in_(meeting_ids)))
            ).all()
        }
        sites = {
            s.id: s
            for s in (await session.scalars(select(Site).where(col(Site.id).in_(site_ids)))).all()
        }
        links = await tokens.site_tokens(
            session,
            {id_of(s) for s in sites.values()},
            secret_key=self.settings.security.secret_key,
        )
        # Loaded for every batch (two queries for all its sessions): never older than it.
        agendas = await agendas_of(session, meeting_ids=meeting_ids)
        documents = await documents_of(session, meeting_ids=meeting_ids)
        programmes = {
            meeting_id: _Programme(agendas.get(meeting_id, []), documents.get(meeting_id, []))
            for meeting_id in meeting_ids
        }
        batch = _Batch(self, meetings, sites, links, programmes)
        batch.endpoints = await _endpoints(session, meeting_ids, site_ids)
        batch.followup = await followup_mail.FollowUp.load(session, rows, self.settings)
        for row in rows:
            meeting = meetings.get(row.meeting_id)
            if meeting is None or row.site_id not in sites:
                continue  # rendering it says so; the rest of the batch goes
            locale = sites[row.site_id].locale or self.settings.organisation.locale
            await batch.add_attachments(session, meeting, MessageKind(row.kind), locale)
        return batch.render

    async def letter_part(
        self, session: AsyncSession, meeting: Meeting, programme: _Programme, locale: str
    ) -> bytes:
        """The letter to all the invited sites, one PDF for all of them; one per site
        (~100 ms) would make 10,000 sites take 40 min. The site-addressed letter is a
        download (its page, the API). Its HTML is made for every batch (milliseconds) and
        keys the PDF, so a new document or invited site shows in the next batch's letter
        even where the session's version did not change."""
        issued = letter.issue_date(utcnow(), self.settings.organisation)
        document = letter.letter_document(
            self.env,
            await letter.general_letter(
                session,
                meeting,
                timeline(meeting, programme.agenda),
                [d.filename for d in programme.documents],
                settings=self.settings,
                issued_on=issued,
            ),
            organisation=self.settings.organisation,
            locale=locale,
        )
        # The PDF is kept by its HTML and list (LetterCache); its encoding, once a batch,
        # is cheap.
        name = letter.letter_filename(meeting.id or 0)
        return attachment_part(name, letter.PDF_TYPE, await self._letters.pdf(document))

    async def minutes_part(self, session: AsyncSession, meeting_id: int, locale: str) -> bytes:
        """The latest approved minutes as PDF, rendered once per version and language."""
        from agendas.minutes import minutes
        from agendas.minutes.pdf import to_pdf

        row = await minutes.approved(session, meeting_id)
        key = (meeting_id, row.number, locale)
        if key not in self._minutes:
            pdf = await asyncio.to_thread(to_pdf, minutes.data_of(row), locale=locale)
            name = f"bien-ban-{meeting_id}-v{row.number}.pdf"
            if len(self._minutes) > 16:
                self._minutes.clear()
            self._minutes[key] = attachment_part(name, "application/pdf", pdf)
        return self._minutes[key]


@dataclass
class _Batch:
    """What `MessageRenderer.prepare` loaded for one batch, and its pure `render`."""

    renderer: MessageRenderer
    meetings: dict[int | None, Meeting]
    sites: dict[int | None, Site]
    links: dict[int, str]
    programmes: dict[int, _Programme] = field(default_factory=dict)
    #: The attachments of each (session, kind, language).
    attachments: dict[tuple[int, MessageKind, str], tuple[bytes, ...]] = field(default_factory=dict)
    #: The bodies of each (session, site, kind): the same for all the site's contacts.
    bodies: dict[tuple[int, int, MessageKind, str], tuple[str, str]] = field(default_factory=dict)
    stencils: Stencils = field(default_factory=Stencils)
    #: Each invited site's room or dial-in for its session (its own, else its register's).
    endpoints: dict[tuple[int, int], str] = field(default_factory=dict)
    #: Why the messages of a (session, kind, language) cannot be made, if they cannot.
    unavailable: dict[tuple[int, MessageKind, str], str] = field(default_factory=dict)
    #: What the batch's answers and report reminders tell.
    followup: followup_mail.FollowUp = field(default_factory=followup_mail.FollowUp)

    async def add_attachments(
        self, session: AsyncSession, meeting: Meeting, kind: MessageKind, locale: str
    ) -> None:
        key = (meeting.id or 0, kind, locale)
        if key in self.attachments:
            return
        parts: tuple[bytes, ...] = ()
        # The letter goes with what invites; a cancellation or a reminder has none.
        if kind in LETTER_KINDS and not _cancelled(meeting, kind):
            programme = self.programmes[meeting.id or 0]
            parts = (await self.renderer.letter_part(session, meeting, programme, locale),)
        if kind == MessageKind.minutes:
            try:
                parts = (await self.renderer.minutes_part(session, meeting.id or 0, locale),)
            except NotFound as exc:
                self.unavailable[key] = str(exc)  # its rows fail; the rest of the batch goes
        self.attachments[key] = parts

    def _endpoint(self, meeting: Meeting, site: Site) -> str:
        return self.endpoints.get((meeting.id or 0, site.id or 0)) or site.endpoint

    def _changes(
        self, meeting: Meeting, site: Site, seen_before: SiteView | None, locale: str
    ) -> list[versions.Change]:
        """What an update tells that differs from what its recipient had, as now."""
        if seen_before is None:
            return []
        agenda = versions.agenda_digest(self.programmes[meeting.id or 0].agenda)
        now = versions.site_view(meeting, endpoint=self._endpoint(meeting, site), agenda=agenda)
        return versions.changes(seen_before, now, locale)

    def _bodies(
        self,
        meeting: Meeting,
        site: Site,
        kind: MessageKind,
        locale: str,
        site_url: str,
        seen_before: SiteView | None = None,
    ) -> tuple[str, str]:
        """The text and HTML bodies, made once for all the contacts of a site."""
        # An update says what changed since what its recipient had: contacts of a site
        # told at different times read different updates.
        key = (meeting.id or 0, site.id or 0, kind, json.dumps(seen_before, sort_keys=True))
        if key not in self.bodies:
            short = kind == MessageKind.declinecounter
            programme = self.programmes[meeting.id or 0]
            # A declined proposal is a short note: the time kept, not the programme.
            self.bodies[key] = self.stencils.bodies(
                self.renderer.templates,
                Wording(
                    meeting,
                    kind,
                    locale,
                    translations(locale).gettext(INTRO[kind]),
                    [] if short else programme.agenda,
                    [] if short else programme.documents,
                ),
                site,
                site_url=site_url,
                endpoint=self._endpoint(meeting, site),
                changes=self._changes(meeting, site, seen_before, locale)
                if kind == MessageKind.update
                else [],
            )
        return self.bodies[key]

    def render(self, message: Message) -> Outgoing:
        meeting = self.meetings.get(message.meeting_id)
        if meeting is not None and message.kind in NOTICE_KINDS:  # to an account, not a site
            renderer = self.renderer
            return render_notice(
                renderer.env, renderer.settings, renderer.sender, meeting, message, now=utcnow()
            )
        if message.kind == MessageKind.action_chase:  # to a unit of the office too: no site
            return overdue_actions.render_reminder(self, message)
        site = self.sites.get(message.site_id)
        if meeting is None or site is None:
            raise LookupError(f"message {message.id} has no session or site any more")
        settings = self.renderer.settings
        site_url = site_page_url(settings.server.public_url, self.links[site.id or 0])
        if message.kind in followup_mail.KINDS:  # answers, reminders: no calendar, no letter
            return self.followup.render(self.renderer, meeting, site, message, site_url)
        locale = site.locale or settings.organisation.locale  # Vietnamese by default
        kind = MessageKind(message.kind)
        if reason := self.unavailable.get((meeting.id or 0, kind, locale)):
            raise LookupError(reason)
        text, html = self._bodies(meeting, site, kind, locale, site_url, message.seen_before)
        method: Method = "CANCEL" if _cancelled(meeting, kind) else "REQUEST"
        recipient = Person(message.recipient_name, message.recipient)
        now = utcnow()
        calendar = None
        if kind in CALENDAR_KINDS:
            event = self._event(meeting, site, message, description=text, site_url=site_url)
            calendar = scheduling(event, [recipient], method=method, now=now)
        elif kind == MessageKind.declinecounter:
            method = "DECLINECOUNTER"
            event = self._event(meeting, site, message, description=text, site_url=site_url)
            calendar = declining(event, recipient, now=now)
        return compose(
            sender=self.renderer.sender,
            recipient=recipient,
            rendered=Rendered(_subject(meeting, kind, locale), text, html),
            calendar=calendar,
            method=method if calendar is not None else None,
            now=now,
            attachments=self.attachments[(meeting.id or 0, kind, locale)],
            reply_to=self.renderer.reply_to,
            envelope_sender=self.renderer.envelope_sender(message),
        )

    def _event(
        self, meeting: Meeting, site: Site, message: Message, *, description: str, site_url: str
    ) -> CalendarEvent:
        """The session as the site's calendar entry: its room and video link as the place."""
        return CalendarEvent(
            uid=meeting.uid,
            sequence=max(meeting.sequence, message.sequence),
            summary=meeting.title,
            starts_at=meeting.starts_at,
            ends_at=meeting.ends_at,
            timezone=meeting.timezone,
            organizer=self.renderer.organizer,
            location="; ".join(
                p for p in (site.address, self._endpoint(meeting, site), meeting.video_url) if p
            ),
            description=description,
            url=site_url,
            is_cancelled=_cancelled(meeting, MessageKind(message.kind)),
        )


async def _endpoints(
    session: AsyncSession, meeting_ids: set[int], site_ids: set[int]
) -> dict[tuple[int, int], str]:
    """The sites' own rooms for these sessions, where they differ from the register's."""
    rows = await session.execute(
        select(
            col(Participation.meeting_id), col(Participation.site_id), col(Participation.endpoint)
        ).where(
            col(Participation.meeting_id).in_(meeting_ids),
            col(Participation.site_id).in_(site_ids),
            col(Participation.endpoint) != "",
        )
    )
    return {(meeting_id, site_id): endpoint for meeting_id, site_id, endpoint in rows.all()}


def _subject(meeting: Meeting, kind: MessageKind, locale: str) -> str:
    """The subject, "[Giấy mời] <title> — 19/04/2024": the day in the session's zone."""
    gettext = translations(locale).gettext
    day = meeting.starts_at.astimezone(ZoneInfo(meeting.timezone)).strftime("%d/%m/%Y")
    return f"[{gettext(SUBJECT_PREFIX[kind])}] {meeting.title} — {day}"


def _cancelled(meeting: Meeting, kind: MessageKind) -> bool:
    return kind == MessageKind.cancellation or meeting.status == MeetingStatus.cancelled
