"""Invitations' calendars from a template per session: the same bytes as `ical.scheduling`.

A mailing sends one REQUEST per recipient, and all of them share the VCALENDAR, the
VTIMEZONE, UID, SEQUENCE, times, ORGANIZER, SUMMARY and alarm; only DTSTAMP, the site's
LOCATION, DESCRIPTION and URL and the recipient's ATTENDEE differ. Building and folding
the whole object with icalendar per recipient was most of the CPU of a delivery, so the
shared part is serialised once (by `ical.scheduling` itself, with markers where the
recipient's properties go) and each message writes only its own properties — with
icalendar too, so escaping and folding stay exactly its own. The result is byte for byte
what `ical.scheduling` returns (tests compare them).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from icalendar import Event

from notify.mail import ical
from notify.mail.ical import CalendarEvent, Method, Person, clean, invitee

#: What stands for each per-recipient property in the template (one line each, as
#: icalendar writes them: short, plain ASCII, nothing to escape).
_STAMP = datetime(1901, 1, 1, tzinfo=UTC)
_MARKS = {
    "location": "GBSLOTLOCATION",
    "description": "GBSLOTDESCRIPTION",
    "url": "GBSLOTURL",
}
_ATTENDEE = Person("", "slot@gbslot.invalid")
_LINES = {
    b"DTSTAMP:19010101T000000Z": "dtstamp",
    **{f"{name.upper()}:{mark}".encode(): name for name, mark in _MARKS.items()},
}

#: The template: shared bytes, and the names of the properties written per recipient.
_Pieces = tuple[bytes | str, ...]


def scheduling(
    event: CalendarEvent, attendees: Sequence[Person], *, method: Method, now: datetime
) -> bytes:
    """What `ical.scheduling(event, attendees, method=method, now=now)` returns."""
    shape = replace(
        event,
        location=_MARKS["location"] if event.location else "",
        description=_MARKS["description"] if event.description else "",
        url=_MARKS["url"] if event.url else "",
    )
    values = {
        # As icalendar writes a UTC time (its conversion cost a third of the rest).
        "dtstamp": lambda: f"DTSTAMP:{now.astimezone(UTC):%Y%m%dT%H%M%SZ}\r\n".encode(),
        "location": lambda: _lines("location", [clean(event.location)]),
        "description": lambda: _lines("description", [event.description.replace("\r\n", "\n")]),
        "url": lambda: _lines("url", [event.url]),
        "attendee": lambda: _lines("attendee", [invitee(person) for person in attendees]),
    }
    pieces = _template(shape, method, bool(attendees))
    return b"".join(piece if isinstance(piece, bytes) else values[piece]() for piece in pieces)


def _lines(name: str, values: Sequence[object]) -> bytes:
    """The content lines of one property, written (escaped, folded) by icalendar."""
    component = Event()
    for value in values:
        component.add(name, value)
    stored = component[name.upper()]
    return b"".join(
        fold(component.content_line(name.upper(), value)) + b"\r\n"
        for value in (stored if isinstance(stored, list) else [stored])
    )


def fold(line: str) -> bytes:
    """The line folded as icalendar folds it (lines under 75 octets, no UTF-8 character
    split, a backslash or caret kept with what it escapes), on the encoded bytes at once:
    icalendar's loop, character by character, cost more than the rest of a message's
    calendar (the description is a whole letter)."""
    data = line.encode()
    pieces = []
    start = 0
    while len(data) - start >= _FOLD:
        end = start + _FOLD - 1
        while data[end] & 0xC0 == 0x80:  # inside a character: break before it
            end -= 1
        if data[end - 1] in b"\\^":
            end -= 1
        pieces.append(data[start:end])
        start = end
    pieces.append(data[start:])
    return b"\r\n ".join(pieces)


#: The first length that folds (icalendar: "less than 75 characters wide").
_FOLD = 75


@functools.lru_cache(maxsize=64)
def _template(shape: CalendarEvent, method: Method, attendees: bool) -> _Pieces:
    """The calendar of `shape` cut where the per-recipient properties go."""
    data = ical.scheduling(shape, [_ATTENDEE] if attendees else [], method=method, now=_STAMP)
    pieces: list[bytes | str] = []
    shared: list[bytes] = []
    for line in _logical_lines(data):
        unfolded = line.replace(b"\r\n ", b"").rstrip(b"\r\n")
        slot = _LINES.get(unfolded)
        if unfolded.startswith(b"ATTENDEE") and unfolded.endswith(_ATTENDEE.email.encode()):
            slot = "attendee"
        if slot is None:
            shared.append(line)
            continue
        pieces += [b"".join(shared), slot]
        shared = []
    pieces.append(b"".join(shared))
    expected = {"dtstamp", *(n for n in _MARKS if getattr(shape, n))} | (
        {"attendee"} if attendees else set()
    )
    if sorted(p for p in pieces if isinstance(p, str)) != sorted(expected):
        raise RuntimeError(f"calendar template: {pieces!r} lacks one of {expected}")
    return tuple(pieces)


def _logical_lines(data: bytes) -> list[bytes]:
    """Each property with its folded continuation lines, CRLF included."""
    lines: list[bytes] = []
    for physical in data.split(b"\r\n")[:-1]:
        if physical[:1] == b" " and lines:
            lines[-1] += physical + b"\r\n"
        else:
            lines.append(physical + b"\r\n")
    return lines
