"""Sessions as calendar events: the session download and each site's subscription feed."""

from __future__ import annotations

from datetime import datetime

from meetings.core.settings import Settings
from meetings.planning.models import Meeting, MeetingStatus
from meetings.register.models import Site
from notify.mail.ical import CalendarEvent, Person, feed


def organizer(settings: Settings) -> Person:
    """Whom a calendar we give answers (Accept, Decline, Propose a new time): the inbound
    mailbox when it is on (notify.inbound reads it), else the office's From address. The
    one rule for invitations, the session download and the sites' feeds alike."""
    inbound = settings.inbound
    address = inbound.address if inbound.enabled else settings.mail.from_address
    return Person(settings.mail.from_name, address)


def event_for(meeting: Meeting, *, settings: Settings, location: str = "") -> CalendarEvent:
    return CalendarEvent(
        uid=meeting.uid,
        sequence=meeting.sequence,
        summary=meeting.title,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        timezone=meeting.timezone,
        organizer=organizer(settings),
        location="; ".join(p for p in (location or meeting.location, meeting.video_url) if p),
        description=meeting.description,
        is_cancelled=meeting.status == MeetingStatus.cancelled,
    )


def meeting_download(meeting: Meeting, *, settings: Settings, now: datetime) -> bytes:
    return feed([event_for(meeting, settings=settings)], name=meeting.title, now=now)


def site_feed(site: Site, meetings: list[Meeting], *, settings: Settings, now: datetime) -> bytes:
    """The sessions a site may see (notify.site.sessions), cancelled ones as cancelled."""
    room = "; ".join(p for p in (site.address, site.endpoint) if p)
    return feed(
        [event_for(m, settings=settings, location=room) for m in meetings],
        name=f"{settings.organisation.short_name} — {site.name}",
        now=now,
    )
