"""The formal invitation letter (giấy mời) of a session, as PDF in the administrative format.

Vietnamese offices expect a letter laid out as Decree 30/2020/NĐ-CP sets out (the same
header block as the minutes: issuing body and number on the left, national title and
motto with place and date on the right), besides the calendar invitation. The letter is
attached to invitation e-mails and downloaded from the session page. Rendering is split
so that only the slow part leaves the event loop: the HTML is rendered from a `Letter`
(plain data loaded beforehand), then WeasyPrint turns it into PDF in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.programme.models import AgendaItemPublic
from agendas.programme.programme import agenda_items, timeline
from meetings.core.admin_format import clock_in_words, date_in_words, html_to_pdf, moment_in_words
from meetings.core.i18n import translations
from meetings.core.settings import OrganisationSettings, Settings
from meetings.planning.documents import session_documents
from meetings.planning.invited import invitation
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Meeting, Participation
from meetings.planning.workdays import working_days_before
from meetings.register.models import Site
from notify.site import tokens
from notify.site.links import site_page_url

PDF_TYPE = "application/pdf"
#: The document type in the number, fixed by Decree 30 (Appendix III): GM = giấy mời.
LETTER_CODE = "GM"


def letter_filename(meeting_id: int, site_code: str = "") -> str:
    return f"giay-moi-{meeting_id}-{site_code}.pdf" if site_code else f"giay-moi-{meeting_id}.pdf"


def issue_date(now: datetime, organisation: OrganisationSettings) -> date:
    """The letter's date: today where the issuing body is."""
    return now.astimezone(ZoneInfo(organisation.timezone)).date()


@dataclass(frozen=True)
class Letter:
    """Everything one letter shows, loaded beforehand so rendering touches no database."""

    meeting: Meeting
    agenda: Sequence[AgendaItemPublic]
    document_names: Sequence[str]
    issued_on: date
    #: The addressee; None for the letter to all the invited bridge points.
    site: Site | None = None
    #: Where the site joins from: its address and its room or dial-in for this session.
    site_place: str = ""
    #: The site's own page (answer, delegates, documents, check-in).
    site_url: str = ""
    bridge_point_count: int = 0


def letter_html(
    env: jinja2.Environment, letter: Letter, *, organisation: OrganisationSettings, locale: str
) -> str:
    """The letter as HTML for WeasyPrint (cheap: runs on the event loop)."""
    meeting = letter.meeting
    zone = meeting.timezone
    starts = meeting.starts_at.astimezone(ZoneInfo(zone))
    ends = meeting.ends_at.astimezone(ZoneInfo(zone))
    site_zone = (letter.site.timezone if letter.site else None) or zone
    deadline = working_days_before(starts.date(), 1)
    agenda = [
        (clock_in_words(item.planned_start.astimezone(ZoneInfo(zone)), locale), item)
        if item.planned_start
        else ("", item)
        for item in letter.agenda
    ]
    context = {
        "locale": locale,
        "translations": translations(locale),
        "organisation": organisation,
        "letter_code": f"{LETTER_CODE}-{organisation.document_code}",
        "meeting": meeting,
        "site": letter.site,
        "site_place": letter.site_place,
        "site_link": _unbroken(letter.site_url),
        "video_link": _unbroken(meeting.video_url),
        "bridge_point_count": letter.bridge_point_count,
        "agenda": agenda,
        "document_names": letter.document_names,
        "dated": f"{organisation.city}, {date_in_words(letter.issued_on, locale)}",
        "starts": moment_in_words(starts, locale, zone),
        "ends": clock_in_words(ends, locale)
        if ends.date() == starts.date()
        else moment_in_words(ends, locale, zone),
        "local_starts": moment_in_words(starts, locale, site_zone) if site_zone != zone else "",
        "site_timezone": site_zone,
        "deadline": date_in_words(deadline, locale) if deadline >= letter.issued_on else "",
    }
    return env.get_template("mail/letter.html").render(context)


def _unbroken(url: str) -> Markup:
    """A link kept on one line, so that it can be read and typed off the printed page."""
    return Markup('<span class="url">{}</span>').format(url) if url else Markup("")


async def pdf_bytes(html: str) -> bytes:
    return await asyncio.to_thread(html_to_pdf, html)


class LetterCache:
    """Each distinct letter is rendered once, however many contacts a site has.

    Keyed by the letter's HTML (so any change of session, site or programme renders
    anew); concurrent asks for the same letter, as the delivery connections make for the
    contacts of one site, share one render. Only the last few letters are kept: a
    mailing goes site by site.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._renders: OrderedDict[str, asyncio.Future[bytes]] = OrderedDict()

    async def pdf(self, html: str) -> bytes:
        key = hashlib.sha256(html.encode()).hexdigest()
        render = self._renders.get(key)
        if render is None:
            render = asyncio.ensure_future(pdf_bytes(html))
            self._renders[key] = render
            while len(self._renders) > self._size:
                self._renders.popitem(last=False)
        else:
            self._renders.move_to_end(key)
        try:
            return await asyncio.shield(render)
        except Exception:
            if self._renders.get(key) is render:
                del self._renders[key]  # a failed render is tried again by the next ask
            raise


async def bridge_point_count(session: AsyncSession, meeting_id: int) -> int:
    """How many sites the letter to all of them speaks of."""
    count = await session.scalar(
        select(func.count()).where(col(Participation.meeting_id) == meeting_id)
    )
    return count or 0


def site_place(site: Site, participation: Participation) -> str:
    """The site's address and its room or dial-in for this session (else its register one)."""
    return "; ".join(p for p in (site.address, participation.endpoint or site.endpoint) if p)


async def load_letter(
    session: AsyncSession,
    meeting_id: int,
    *,
    site_id: int | None,
    settings: Settings,
    issued_on: date,
) -> Letter:
    """The letter of a session, addressed to one invited site or to all of them."""
    meeting = await get_meeting_row(session, meeting_id)
    agenda = timeline(meeting, await agenda_items(session, meeting_id=meeting_id))
    documents = await session_documents(session, meeting_id=meeting_id)
    document_names = [document.filename for document in documents]
    if site_id is None:
        count = await bridge_point_count(session, meeting_id)
        return Letter(meeting, agenda, document_names, issued_on, bridge_point_count=count)
    participation = await invitation(session, meeting_id=meeting_id, site_id=site_id)
    site = await session.get_one(Site, site_id)  # an invited site exists (its foreign key)
    token = await tokens.site_token(session, site_id, secret_key=settings.security.secret_key)
    return Letter(
        meeting,
        agenda,
        document_names,
        issued_on,
        site=site,
        site_place=site_place(site, participation),
        site_url=site_page_url(settings.server.public_url, token),
    )
