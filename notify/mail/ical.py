"""iCalendar objects that Outlook, Gmail, Apple Calendar and Thunderbird accept.

Pure functions from plain values to bytes (RFC 5545, iTIP RFC 5546): REQUEST for
invitations and updates (one ATTENDEE per recipient, so each gets Accept/Decline),
CANCEL for cancellations (same UID, higher SEQUENCE, STATUS:CANCELLED, no alarm),
DECLINECOUNTER to the one attendee whose proposal of another time the organiser did not
take, and PUBLISH for downloads and subscription feeds (no attendees: they would expose
every site's address). Times carry their TZID with a matching VTIMEZONE; DTSTAMP is UTC.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from icalendar import (
    Alarm,
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
    vText,
)

PRODID = "-//giaoban//Giao ban truc tuyen//VI"
Method = Literal["REQUEST", "CANCEL", "PUBLISH", "DECLINECOUNTER"]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def clean(text: str) -> str:
    """One line, no control characters: nothing a user typed can break a property."""
    return _CONTROL.sub(" ", text).strip()


@dataclass(frozen=True)
class Person:
    name: str
    email: str

    def address(self) -> vCalAddress:
        address = vCalAddress(f"mailto:{self.email}")
        if self.name:
            address.params["cn"] = vText(clean(self.name))
        return address


@dataclass(frozen=True)
class CalendarEvent:
    """What a calendar needs to know about one session, in plain values."""

    uid: str
    sequence: int
    summary: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    organizer: Person
    location: str = ""
    description: str = ""
    url: str = ""
    is_cancelled: bool = False
    #: Minutes before the start for the reminder alarm (None: no alarm).
    alarm_minutes: int | None = 30


def _event(event: CalendarEvent, *, method: Method, now: datetime) -> Event:
    zone = ZoneInfo(event.timezone)
    component = Event()
    component.add("uid", event.uid)
    component.add("sequence", event.sequence)
    component.add("dtstamp", now.astimezone(UTC))
    component.add("dtstart", event.starts_at.astimezone(zone))
    component.add("dtend", event.ends_at.astimezone(zone))
    component.add("summary", clean(event.summary))
    component.add("organizer", event.organizer.address())
    if event.location:
        component.add("location", clean(event.location))
    if event.description:
        component.add("description", event.description.replace("\r\n", "\n"))
    if event.url:
        component.add("url", event.url)
    cancelled = event.is_cancelled or method == "CANCEL"
    component.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if not cancelled and event.alarm_minutes is not None:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", timedelta(minutes=-event.alarm_minutes))
        alarm.add("description", clean(event.summary))
        component.add_component(alarm)
    return component


def _calendar(method: Method) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar


def _finish(calendar: Calendar, events: Sequence[CalendarEvent]) -> bytes:
    for zone in sorted({event.timezone for event in events}):
        times = [t for e in events if e.timezone == zone for t in (e.starts_at, e.ends_at)]
        calendar.add_component(vtimezone(zone, min(times), max(times)))
    # VTIMEZONE first, as clients expect: move the events after the zones.
    calendar.subcomponents.sort(key=lambda c: c.name != "VTIMEZONE")
    return bytes(calendar.to_ical())


def vtimezone(name: str, first: datetime, last: datetime) -> Timezone:
    """The zone's offsets from a year before `first` to a year after `last`, one
    component per transition (no RDATE lists: ical.js and others misread those)."""
    zone = ZoneInfo(name)
    start = datetime(first.year - 1, 1, 1, tzinfo=UTC)
    end = datetime(last.year + 2, 1, 1, tzinfo=UTC)
    component = Timezone()
    component.add("tzid", name)
    before = start.astimezone(zone)
    component.add_component(_onset(before, before.utcoffset()))
    for moment in _transitions(zone, start, end):
        previous = (moment - timedelta(seconds=1)).astimezone(zone)
        component.add_component(_onset(moment.astimezone(zone), previous.utcoffset()))
    return component


@functools.lru_cache(maxsize=256)
def _transitions(zone: ZoneInfo, start: datetime, end: datetime) -> tuple[datetime, ...]:
    """UTC instants where the zone's offset changes, found day by day then to the second.
    Cached: every recipient of a mailing asks for the same zone and years."""
    found = []
    day = start
    offset = day.astimezone(zone).utcoffset()
    while day < end:
        following = day + timedelta(days=1)
        if following.astimezone(zone).utcoffset() != offset:
            low, high = day, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
            offset = following.astimezone(zone).utcoffset()
        day = following
    return tuple(found)


def _onset(local: datetime, offset_from: timedelta | None) -> TimezoneStandard | TimezoneDaylight:
    """One STANDARD or DAYLIGHT onset; DTSTART is the wall clock in the old offset."""
    kind = TimezoneDaylight if local.dst() else TimezoneStandard
    onset = kind()
    onset.add(
        "dtstart",
        (
            local.replace(tzinfo=None)
            - (local.utcoffset() or timedelta())
            + (offset_from or timedelta())
        ).replace(tzinfo=None),
    )
    onset.add("tzoffsetfrom", offset_from or timedelta())
    onset.add("tzoffsetto", local.utcoffset() or timedelta())
    onset.add("tzname", local.tzname() or "")
    return onset


def scheduling(
    event: CalendarEvent, attendees: Sequence[Person], *, method: Method, now: datetime
) -> bytes:
    """A REQUEST (invitation or update) or CANCEL for these attendees (iTIP)."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"use feed() for PUBLISH, declining() for DECLINECOUNTER: {method}")
    calendar = _calendar(method)
    component = _event(event, method=method, now=now)
    for person in attendees:
        component.add("attendee", invitee(person))
    calendar.add_component(component)
    return _finish(calendar, [event])


def invitee(person: Person) -> vCalAddress:
    """An ATTENDEE asked to answer: it is what gives the recipient Accept/Decline."""
    address = person.address()
    address.params["role"] = vText("REQ-PARTICIPANT")
    address.params["partstat"] = vText("NEEDS-ACTION")
    address.params["rsvp"] = vText("TRUE")
    return address


def declining(event: CalendarEvent, attendee: Person, *, now: datetime, comment: str = "") -> bytes:
    """DECLINECOUNTER (RFC 5546 §3.2.8): the organiser keeps the session's time, to the
    one attendee who proposed another: UID, SEQUENCE (the session's, unchanged), DTSTAMP,
    ORGANIZER, that ATTENDEE, an optional COMMENT, and the time kept (DTSTART/DTEND with
    their VTIMEZONE: optional in iTIP, but clients show it with the answer). No SUMMARY
    or alarm: it does not make a calendar entry, it answers a proposal."""
    calendar = _calendar("DECLINECOUNTER")
    zone = ZoneInfo(event.timezone)
    component = Event()
    component.add("uid", event.uid)
    component.add("sequence", event.sequence)
    component.add("dtstamp", now.astimezone(UTC))
    component.add("dtstart", event.starts_at.astimezone(zone))
    component.add("dtend", event.ends_at.astimezone(zone))
    component.add("organizer", event.organizer.address())
    component.add("attendee", attendee.address())
    if comment.strip():
        component.add("comment", clean(comment))
    calendar.add_component(component)
    return _finish(calendar, [event])


def feed(events: Iterable[CalendarEvent], *, name: str, now: datetime) -> bytes:
    """PUBLISH: a download or a subscription feed; cancelled events stay, as cancelled."""
    calendar = _calendar("PUBLISH")
    calendar.add("x-wr-calname", clean(name))
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    events = list(events)
    for event in events:
        calendar.add_component(_event(event, method="PUBLISH", now=now))
    return _finish(calendar, events)
