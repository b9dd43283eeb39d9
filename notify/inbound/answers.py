"""Calendar answers (iMIP REPLY and COUNTER, RFC 5546) read from an iCalendar part.

By patterns over the text, for the few properties an answer has: the icalendar library
costs about 0.7 ms per calendar and is only asked for a VTIMEZONE, when a COUNTER's
proposed time needs one (cached by its text).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from email.message import Message
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

from icalendar import Timezone
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from notify.inbound.mime import text_of
from notify.inbound.parsed import CalendarAnswer, Meaning, Unreadable
from notify.inbound.texts import MAX_TEXT


@dataclass(frozen=True)
class _Line:
    name: str
    params: Mapping[str, str]
    value: str


@dataclass
class _Calendar:
    #: The unfolded text (its VTIMEZONEs are read only when a COUNTER's time needs one).
    text: str = ""
    method: str = ""
    events: list[list[_Line]] = field(default_factory=list)

    def zone_text(self, tzid: str) -> str:
        """The VTIMEZONE sent for `tzid` ("" when none was)."""
        for zone in _VTIMEZONE.finditer(self.text):
            found = _TZID.search(zone.group(0))
            if found and found.group(1).strip().strip('"') == tzid:
                return zone.group(0) + "\n"
        return ""


def calendar_answer(part: Message) -> Meaning | None:
    """The REPLY or COUNTER in a calendar part; None for any other method (a
    forwarded REQUEST or CANCEL) or a part with no calendar in it."""
    return answer_in(text_of(part), lambda: part.get_param("method"))


def answer_in(text: str, header_method: Callable[[], object]) -> Meaning | None:
    """`calendar_answer` of a part's decoded text; `header_method` gives its MIME
    header's method parameter (asked only when the text has no METHOD), for the
    readers that do not hold a stdlib Message (`fast`)."""
    calendar = _read_calendar(text)
    method = calendar.method
    if not method:  # some clients say it only in the MIME header
        found = header_method()
        method = found.strip().upper() if isinstance(found, str) else ""
    if method not in ("REPLY", "COUNTER"):
        return None
    if not calendar.events:
        return Unreadable(f"a calendar {method} without an event")
    return _answer("REPLY" if method == "REPLY" else "COUNTER", calendar)


_FOLD = re.compile(r"\r?\n[ \t]")
_METHOD = re.compile(r"^METHOD[;:](?:[^\n:]*:)?[ \t]*([A-Za-z-]*)", re.IGNORECASE | re.MULTILINE)
_VEVENT = re.compile(
    r"^BEGIN:VEVENT[ \t]*$(.*?)^END:VEVENT", re.IGNORECASE | re.MULTILINE | re.DOTALL
)
_VALARM = re.compile(r"^BEGIN:(\w+).*?^END:\1", re.IGNORECASE | re.MULTILINE | re.DOTALL)
#: Only what an answer has: nothing else in the event is parsed.
_WANTED = re.compile(
    r"^(?:UID|SEQUENCE|ATTENDEE|COMMENT|DTSTART|DTEND|DURATION)[;:][^\r\n]*",
    re.IGNORECASE | re.MULTILINE,
)
_VTIMEZONE = re.compile(
    r"^BEGIN:VTIMEZONE[ \t]*$.*?^END:VTIMEZONE[^\n]*", re.IGNORECASE | re.MULTILINE | re.DOTALL
)
_TZID = re.compile(r"^TZID[;:](?:[^\n:]*:)?([^\r\n]*)", re.IGNORECASE | re.MULTILINE)
# The same patterns begun by the line feed before them, for the searches that run on
# every answer: a literal first character lets the regex engine go from line to line
# instead of trying each position (about 10 times faster). In an event's text (which
# begins with the line feed of its BEGIN line) every line start follows a line feed;
# in a whole calendar, only the start of the text does not.
_FOLD_LF = re.compile(r"\n[ \t]")
_METHOD_LF = re.compile(r"\nMETHOD[;:](?:[^\n:]*:)?[ \t]*([A-Za-z-]*)", re.IGNORECASE)
_BEGIN_VEVENT = re.compile(r"^BEGIN:VEVENT[ \t]*$", re.IGNORECASE | re.MULTILINE)
_BEGIN_VEVENT_LF = re.compile(r"\nBEGIN:VEVENT[ \t]*$", re.IGNORECASE | re.MULTILINE)
_END_VEVENT_LF = re.compile(r"\nEND:VEVENT", re.IGNORECASE)
_BEGIN_LF = re.compile(r"\nBEGIN:", re.IGNORECASE)
_WANTED_LF = re.compile(
    r"\n((?:UID|SEQUENCE|ATTENDEE|COMMENT|DTSTART|DTEND|DURATION)[;:][^\r\n]*)", re.IGNORECASE
)
#: Where a content line's name ends.
_STOP = re.compile("[;:]")
#: One parameter: ";" up to the first "=" (the name), then a value quoted (to its
#: closing quote, or the end of the line without one; then up to the next ";" or ":":
#: a list "a","b") or plain (up to the next ";" or ":").
_PARAM = re.compile(r';([^=]*)=(?:"([^"]*)"?[^;:]*|([^;:]*))')


def _read_calendar(text: str) -> _Calendar:
    """The METHOD and each VEVENT's answer properties of an iCalendar text (RFC 5545
    §3.1 unfolding; parameters with quoted values), by patterns over the whole text
    rather than line by line: this runs on every answer. What `_FOLD`, `_METHOD`,
    `_VEVENT`, `_VALARM` and `_WANTED` find, found by their line-feed forms."""
    text = text.replace("\r\n", "\n")
    text = (_FOLD if "\r" in text else _FOLD_LF).sub("", text)
    calendar = _Calendar()
    method = _METHOD.match(text) or _METHOD_LF.search(text)
    calendar.method = method.group(1).upper() if method else ""
    for body in _event_texts(text):
        if _BEGIN_LF.search(body):  # a VALARM's properties are not the event's
            body = _VALARM.sub("", body)
        calendar.events.append([_content_line(m.group(1)) for m in _WANTED_LF.finditer(body)])
    calendar.text = text
    return calendar


def _event_texts(text: str) -> list[str]:
    """`group(1)` of each `_VEVENT.finditer(text)`: from the end of a BEGIN:VEVENT
    line to the start of the next END:VEVENT line."""
    texts: list[str] = []
    begin = _BEGIN_VEVENT.match(text) or _BEGIN_VEVENT_LF.search(text)
    while begin is not None:
        end = _END_VEVENT_LF.search(text, begin.end())
        if end is None:  # none after this BEGIN, none after a later one either
            break
        texts.append(text[begin.end() : end.start() + 1])
        begin = _BEGIN_VEVENT_LF.search(text, end.end())
    return texts


@functools.lru_cache(maxsize=1024)
def _content_line(line: str) -> _Line:
    """NAME;PARAM=value;PARAM="quoted:value":VALUE. Cached (read-only): the UID,
    SEQUENCE and times of a session come back the same in every site's answer."""
    stop = _STOP.search(line)
    index = stop.start() if stop else len(line)
    name = line[:index].strip().upper()
    params: dict[str, str] = {}
    step = _PARAM.match(line, index)
    while step is not None:
        key, quoted, plain = step.groups()
        params.setdefault(key.strip().upper(), plain if quoted is None else quoted)
        index = step.end()
        step = _PARAM.match(line, index)
    return _Line(name, MappingProxyType(params), line[index + 1 :] if index < len(line) else "")


def _unescape(value: str) -> str:
    """TEXT values (RFC 5545 §3.3.11): \\n, \\, \\; \\\\."""
    if "\\" not in value:
        return value
    return re.sub(
        r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value, flags=re.DOTALL
    )


def _mailto(value: str) -> str:
    value = value.strip().strip('"').strip()
    if value[:7].lower() == "mailto:":
        value = value[7:]
    return value.strip().lower() if "@" in value else ""


def _answer(method: Literal["REPLY", "COUNTER"], calendar: _Calendar) -> Meaning:
    event = calendar.events[0]
    properties: dict[str, _Line] = {}
    attendees: list[_Line] = []
    for line in event:
        if line.name == "ATTENDEE":
            attendees.append(line)
        else:
            properties.setdefault(line.name, line)
    uid = properties["UID"].value.strip() if "UID" in properties else ""
    if not uid:
        return Unreadable(f"a calendar {method} without UID")
    attendee = _answering(attendees)
    if attendee is None:
        return Unreadable(f"a calendar {method} without an ATTENDEE address")
    address = _mailto(attendee.value) or _mailto(attendee.params.get("EMAIL", ""))
    sequence_text = properties["SEQUENCE"].value.strip() if "SEQUENCE" in properties else ""
    sequence = int(sequence_text) if sequence_text.isdigit() and len(sequence_text) < 9 else 0
    comment = _unescape(properties["COMMENT"].value) if "COMMENT" in properties else ""
    if not comment.strip():
        comment = _unescape(attendee.params.get("X-RESPONSE-COMMENT", ""))
    delegated = attendee.params.get("DELEGATED-TO", "").split(",")[0]
    starts_at = ends_at = None
    if method == "COUNTER":
        try:
            starts_at = _moment(properties.get("DTSTART"), calendar)
            ends_at = _moment(properties.get("DTEND"), calendar)
            if ends_at is None and starts_at is not None and "DURATION" in properties:
                ends_at = starts_at + _duration(properties["DURATION"].value)
        except ValueError as error:
            return Unreadable(f"a calendar COUNTER with an unreadable time: {error}")
        if starts_at is None:
            return Unreadable("a calendar COUNTER without the proposed start (DTSTART)")
    return CalendarAnswer(
        method=method,
        uid=uid[:250],
        sequence=sequence,
        attendee=address,
        partstat=attendee.params.get("PARTSTAT", "NEEDS-ACTION").strip().upper(),
        delegated_to=_mailto(delegated),
        comment=comment.strip()[:MAX_TEXT],
        starts_at=starts_at,
        ends_at=ends_at,
    )


def _answering(attendees: list[_Line]) -> _Line | None:
    """The ATTENDEE whose answer this is: a REPLY has one; one that delegates also
    names the delegate (DELEGATED-FROM), who has not answered yet."""
    usable = [a for a in attendees if _mailto(a.value) or _mailto(a.params.get("EMAIL", ""))]
    for attendee in usable:
        if "DELEGATED-FROM" not in attendee.params:
            return attendee
    return usable[0] if usable else None


_DATE_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)")


def _moment(line: _Line | None, calendar: _Calendar) -> datetime | None:
    """A DTSTART/DTEND as a UTC-aware datetime: "Z", else its TZID through the
    calendar's own VTIMEZONE (Outlook's "SE Asia Standard Time"), an IANA name, or a
    Windows zone name."""
    if line is None:
        return None
    found = _DATE_TIME.fullmatch(line.value.strip())
    if found is None:
        raise ValueError(f"{line.name} {line.value.strip()[:40]!r} is not a date and time")
    year, month, day, hour, minute, second = (int(found.group(i)) for i in range(1, 7))
    naive = datetime(year, month, day, hour, minute, min(second, 59))
    if found.group(7):
        return naive.replace(tzinfo=UTC)
    tzid = line.params.get("TZID", "").strip().strip('"')
    if not tzid:
        raise ValueError(f"{line.name} has no time zone")
    return naive.replace(tzinfo=_zone(tzid, calendar.zone_text(tzid))).astimezone(UTC)


@functools.lru_cache(maxsize=64)
def _zone(tzid: str, definition: str) -> tzinfo:
    """The zone a TZID means: the VTIMEZONE sent with it (keyed by its whole text, so a
    sender's own definition never stands for another's), else by name."""
    sent = _sent_zone(definition) if definition else None
    if sent is not None:
        return sent
    for name in (tzid, tzid.lstrip("/"), WINDOWS_TO_OLSON.get(tzid, "")):
        if name:
            try:
                return ZoneInfo(name)
            except (ValueError, KeyError, OSError):
                continue
    raise ValueError(f"unknown time zone {tzid[:60]!r}")


def _sent_zone(definition: str) -> tzinfo | None:
    try:
        component = Timezone.from_ical(definition)
        if not isinstance(component, Timezone):
            return None
        zone: tzinfo = component.to_tz(lookup_tzid=False)
    except Exception:  # a broken VTIMEZONE: the name may still be known
        return None
    return zone


_DURATION = re.compile(r"([+-]?)P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")


def _duration(value: str) -> timedelta:
    found = _DURATION.fullmatch(value.strip().upper())
    if found is None:
        raise ValueError(f"DURATION {value.strip()[:40]!r}")
    weeks, days, hours, minutes, seconds = (int(found.group(i) or 0) for i in range(2, 7))
    span = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    return -span if found.group(1) == "-" else span
