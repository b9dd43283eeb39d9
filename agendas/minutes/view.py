"""The minutes worded once (MinutesView), so the Word file, PDF and Markdown never disagree."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from agendas.minutes.data import MinutesData
from agendas.minutes.participants import attached_list, participants
from agendas.minutes.parts import Attachment, Block, Table, counted, lines_of, person
from agendas.minutes.proceedings import proceedings
from meetings.core.admin_format import clock_in_words, date_in_words, moment_in_words
from meetings.core.i18n import Gettext, translations

#: The document type in the number, fixed by Decree 30 (Appendix III): BB = biên bản.
MINUTES_CODE = "BB"


@dataclass(frozen=True)
class MinutesView:
    """Everything the minutes print, already translated and formatted, in print order."""

    locale: str
    #: Fixed words of the layout: title, national title and motto, signature titles.
    labels: dict[str, str]
    governing_body: str
    issuer: str
    #: "BB-LHHN": the number itself is written in when the minutes are registered.
    number: str
    dated: str
    #: "DỰ THẢO lần 2" on a draft, "" once approved.
    draft_mark: str
    #: Who approved this version and when, "" on a draft.
    approval: str
    subject: str
    online: str
    body: list[Block | Table]
    secretary: str
    chair: str
    recipients: list[str]
    attachment: Attachment | None


def minutes_view(data: MinutesData, *, locale: str) -> MinutesView:
    """The minutes' wording in `locale`, in the order of form 1.9 (MINUTES.md)."""
    gettext = translations(locale).gettext
    meeting = data.meeting
    organisation = data.organisation
    attendance = data.attendance
    zone = ZoneInfo(meeting.timezone)
    count = functools.partial(counted, locale=locale)
    day = date_in_words(data.issued_on, locale)
    return MinutesView(
        locale=locale,
        labels=_labels(gettext, meeting.title),
        governing_body=organisation.governing_body.upper(),
        issuer=organisation.name.upper(),
        number=f"{MINUTES_CODE}-{organisation.document_code}"
        if organisation.document_code
        else MINUTES_CODE,
        dated=f"{organisation.city}, {day}" if organisation.city else day,
        draft_mark=""
        if data.status == "approved"
        else gettext("DRAFT, version %(version)s") % {"version": data.version},
        approval=_approval(data, gettext, locale, zone) if data.status == "approved" else "",
        subject=meeting.title,
        online=gettext("(online, with %(count)s bridge points)")
        % {"count": count(attendance.invited)}
        if attendance.invited
        else "",
        body=_body(data, gettext, count, locale, zone),
        secretary=meeting.secretary,
        chair=meeting.chair,
        recipients=[
            gettext("- The bridge points attending;"),
            gettext("- Filed: Archives, meeting file."),
        ],
        attachment=attached_list(data, gettext, count, locale) if attendance.sites else None,
    )


def _labels(gettext: Gettext, title: str) -> dict[str, str]:
    """The fixed words of the layout: title, national title and motto, signature titles."""
    return {
        "title": gettext("MINUTES"),
        "nation": gettext("SOCIALIST REPUBLIC OF VIET NAM"),
        "motto": gettext("Independence - Freedom - Happiness"),
        "number": gettext("No.:"),
        "secretary": gettext("SECRETARY"),
        "chair": gettext("CHAIR"),
        "recipients": gettext("Recipients:"),
        "document": gettext("Minutes — %(title)s") % {"title": title},
    }


def _body(
    data: MinutesData, gettext: Gettext, count: Callable[[int], str], locale: str, zone: ZoneInfo
) -> list[Block | Table]:
    """From the start time to the end time: venue, participants, presiding, proceedings."""
    meeting = data.meeting
    starts = meeting.starts_at.astimezone(zone)
    ends = meeting.ends_at.astimezone(zone)
    body: list[Block | Table] = [
        Block("para", moment_in_words(starts, locale, meeting.timezone), gettext("Start time:")),
        Block("para", _venue(data, gettext, count), gettext("Venue:")),
    ]
    body.extend(participants(data, gettext, count))
    chair = person(meeting.chair, meeting.chair_title)
    body.append(Block("para", chair, gettext("Chair (presiding):")))
    secretary = person(meeting.secretary, meeting.secretary_title)
    body.append(Block("para", secretary, gettext("Secretary (minute-taker):")))
    body.append(Block("para", "", gettext("Proceedings:")))
    body.extend(Block("para", line) for line in lines_of(data.general_notes))
    body.extend(proceedings(data, gettext))
    if data.copies:
        copies = gettext("The minutes are made in %(copies)s copies.")
        number = f"{data.copies:02d}" if locale == "vi" else str(data.copies)  # "02 bản"
        body.append(Block("para", copies % {"copies": number}))
    ended = gettext("The meeting ended at %(hour)s:%(minute)s, %(day)s.") % {
        "hour": f"{ends:%H}",
        "minute": f"{ends:%M}",
        "day": date_in_words(ends.date(), locale),
    }
    body.append(Block("para", ended))
    return body


def _venue(data: MinutesData, gettext: Gettext, count: Callable[[int], str]) -> str:
    """The hall and city, and how many bridge points were connected to it online."""
    hall = data.meeting.location or data.organisation.hall
    if data.attendance.invited:
        return gettext(
            "Central bridge point: %(hall)s, %(city)s; "
            "connected online with %(count)s bridge points."
        ) % {"hall": hall, "city": data.organisation.city, "count": count(data.attendance.invited)}
    return ", ".join(p for p in (hall, data.organisation.city) if p) + "."


def _approval(data: MinutesData, gettext: Gettext, locale: str, zone: ZoneInfo) -> str:
    approved_at = data.approved_at.astimezone(zone) if data.approved_at else None
    moment = (
        f"{clock_in_words(approved_at, locale)}, {date_in_words(approved_at.date(), locale)}"
        if approved_at
        else ""
    )
    return gettext("Version %(version)s, approved by %(approver)s at %(moment)s.") % {
        "version": data.version,
        "approver": data.approved_by,
        "moment": moment,
    }
