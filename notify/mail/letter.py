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
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.minutes.parts import Attachment
from agendas.programme.models import AgendaItemPublic
from agendas.programme.programme import agenda_items, timeline
from agendas.record.carried import Carried, carried
from agendas.record.labels import CARRIED_STATE_LABELS
from meetings.accounts.models import User
from meetings.attendance.video import join_url
from meetings.core.admin_format import clock_in_words, date_in_words, moment_in_words
from meetings.core.i18n import translations
from meetings.core.settings import OrganisationSettings, Settings
from meetings.core.store import utcnow
from meetings.planning.documents import session_documents
from meetings.planning.invited import invitation
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Meeting, Participation
from meetings.planning.workdays import working_days_before
from meetings.register.models import Cluster, Site
from notify.mail.letter_list import attached_list, letter_pdf
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
    #: The letter to all: the invited sites by cluster, for its attached list.
    invited: Sequence[InvitedGroup] = ()
    #: Whom to call about the session, with a phone or e-mail (Decision 45).
    contact: str = ""
    #: What the sites open to join the session (empty: each site's page gives it).
    join_link: str = ""
    #: What earlier sessions of the series left open (agendas.record.carried).
    carried: Carried = field(default_factory=Carried)


@dataclass(frozen=True)
class InvitedGroup:
    """The invited sites of one cluster (None: sites in no cluster), by name; only
    counted (`sites` empty) when the list would be too long to print."""

    cluster: str | None
    count: int
    sites: Sequence[str] = ()


#: The carried items a letter names; the others are counted ("and 12 more").
LETTER_CARRIED = 10

#: Above this many invited sites the attached list gives each cluster's count, not every
#: name: a list of 10,000 names would be 200 pages in every e-mail.
LISTED_SITES = 300


@dataclass(frozen=True)
class Signer:
    """Who signs the letter: the authority line, the position, the full name."""

    authority: str
    title: str
    name: str


def signer_of(meeting: Meeting, organisation: OrganisationSettings) -> Signer:
    """The session's chair, who invites in person; without one, the office's signer.
    The position is signed without the body's name, which heads the letter already
    ("Chủ tịch Liên hiệp các tổ chức hữu nghị Việt Nam" signs as "CHỦ TỊCH")."""
    if meeting.chair:
        title = meeting.chair_title.strip()
        if organisation.name and title.lower().endswith(organisation.name.lower()):
            title = title[: -len(organisation.name)].rstrip(" ,-–")
        return Signer("", title.upper(), meeting.chair)
    return Signer(
        organisation.signer_authority, organisation.signer_title, organisation.signer_name
    )


@dataclass(frozen=True)
class LetterDocument:
    """A letter ready for PDF: its HTML (for WeasyPrint) and the list attached to it (drawn
    after it: letter_list)."""

    html: str
    attached: Attachment | None = None


def letter_document(
    env: jinja2.Environment, letter: Letter, *, organisation: OrganisationSettings, locale: str
) -> LetterDocument:
    """The letter and its attached list, made from `letter` (cheap: runs on the event loop)."""
    # The number is written by hand when the letter is registered: a blank before it.
    number = "\u00a0" * 8 + f"/{LETTER_CODE}-{organisation.document_code}"
    return LetterDocument(
        letter_html(env, letter, organisation=organisation, locale=locale),
        attached_list(letter, number=number, locale=locale),
    )


def letter_html(
    env: jinja2.Environment, letter: Letter, *, organisation: OrganisationSettings, locale: str
) -> str:
    """The letter as HTML for WeasyPrint, without its attached list (letter_document)."""
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
        "video_link": _unbroken(letter.join_link),
        "invited": letter.invited,
        "contact": letter.contact,
        "signer": signer_of(meeting, organisation),
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
        **_carried(letter.carried),
    }
    return env.get_template("mail/letter.html").render(context)


def _carried(found: Carried) -> dict[str, object]:
    """The first LETTER_CARRIED carried items (action items first), and how many more."""
    actions = found.actions[:LETTER_CARRIED]
    recommendations = found.recommendations[: LETTER_CARRIED - len(actions)]
    return {
        "carried_count": found.count,
        "carried_actions": actions,
        "carried_recommendations": recommendations,
        "carried_more": found.count - len(actions) - len(recommendations),
        "carried_states": CARRIED_STATE_LABELS,
    }


def _unbroken(url: str) -> Markup:
    """A link kept on one line, so that it can be read and typed off the printed page."""
    return Markup('<span class="url">{}</span>').format(url) if url else Markup("")


async def pdf_bytes(document: LetterDocument) -> bytes:
    return await asyncio.to_thread(letter_pdf, document.html, document.attached)


class LetterCache:
    """Each distinct letter is rendered once, however many contacts a site has.

    Keyed by the letter's HTML and list (so any change of session, site or programme
    renders anew); concurrent asks for the same letter, as the delivery connections make for the
    contacts of one site, share one render. Only the last few letters are kept: a
    mailing goes site by site.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._renders: OrderedDict[Hashable, asyncio.Future[bytes]] = OrderedDict()

    async def pdf(self, document: LetterDocument) -> bytes:
        key = (hashlib.sha256(document.html.encode()).hexdigest(), document.attached)
        render = self._renders.get(key)
        if render is None:
            render = asyncio.ensure_future(pdf_bytes(document))
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


async def invited_by_cluster(session: AsyncSession, meeting_id: int) -> list[InvitedGroup]:
    """The invited sites, cluster by cluster (those in none last), each by name."""
    invited = col(Participation.meeting_id) == meeting_id
    order = (col(Cluster.id).is_(None), col(Cluster.code))
    counts = await session.execute(
        select(col(Cluster.name), func.count())
        .select_from(Participation)
        .join(Site, col(Site.id) == col(Participation.site_id))
        .outerjoin(Cluster, col(Cluster.id) == col(Site.cluster_id))
        .where(invited)
        .group_by(col(Cluster.id), col(Cluster.code), col(Cluster.name))
        .order_by(*order)
    )
    groups = [InvitedGroup(cluster, count) for cluster, count in counts.all()]
    if sum(group.count for group in groups) > LISTED_SITES:
        return groups
    rows = await session.execute(
        select(col(Cluster.name), col(Site.name))
        .join(Participation, col(Participation.site_id) == col(Site.id))
        .outerjoin(Cluster, col(Cluster.id) == col(Site.cluster_id))
        .where(invited)
        .order_by(*order, col(Site.name))
    )
    names: dict[str | None, list[str]] = {}
    for cluster, site in rows.all():
        names.setdefault(cluster, []).append(site)
    return [InvitedGroup(g.cluster, g.count, names.get(g.cluster, [])) for g in groups]


async def contact_line(
    session: AsyncSession, meeting: Meeting, organisation: OrganisationSettings
) -> str:
    """The configured contact and phone; else the session's organiser and e-mail."""
    if organisation.contact_name:
        return ", ".join(p for p in (organisation.contact_name, organisation.contact_phone) if p)
    if meeting.organiser_id is None:
        return organisation.contact_phone
    organiser = await session.get(User, meeting.organiser_id)
    if organiser is None:
        return organisation.contact_phone
    name = organiser.full_name or organiser.username
    return ", ".join(p for p in (name, organisation.contact_phone, organiser.email) if p)


#: A join link longer than this (a signed token) does not go on paper: the page gives it.
PRINTABLE_LINK = 120


def join_link(settings: Settings, meeting: Meeting, site: Site | None) -> str:
    """The link the letter prints to join the session: the session's, or the video
    platform's room for the site; empty when only a long signed link would do."""
    link = join_url(settings, meeting, site) or ""
    return link if len(link) <= PRINTABLE_LINK else ""


async def general_letter(
    session: AsyncSession,
    meeting: Meeting,
    agenda: Sequence[AgendaItemPublic],
    document_names: Sequence[str],
    *,
    settings: Settings,
    issued_on: date,
) -> Letter:
    """The letter to all the invited sites, with their list attached."""
    invited = await invited_by_cluster(session, meeting.id or 0)
    return Letter(
        meeting,
        agenda,
        document_names,
        issued_on,
        bridge_point_count=sum(group.count for group in invited),
        invited=invited,
        contact=await contact_line(session, meeting, settings.organisation),
        join_link=join_link(settings, meeting, None),
        carried=await carried(session, meeting.id or 0, now=utcnow()),
    )


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
        return await general_letter(
            session, meeting, agenda, document_names, settings=settings, issued_on=issued_on
        )
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
        contact=await contact_line(session, meeting, settings.organisation),
        join_link=join_link(settings, meeting, site),
        carried=await carried(session, meeting_id, now=utcnow()),
    )
