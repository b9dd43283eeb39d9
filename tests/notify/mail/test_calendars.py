"""The session download and the sites' subscription feeds name the same ORGANIZER as
the invitations: the inbound mailbox when it is on (a client that answers from the
feed's event reaches it too), the office's From address when it is off."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from icalendar import Calendar

from meetings.planning.models import Meeting, MeetingStatus
from meetings.register.models import Site
from notify.mail import calendars
from notify.mail.render import make_renderer
from tests.conftest import make_settings

INBOX = "giaoban@inbound.example.gov.vn"
NOW = datetime(2030, 4, 1, 1, 0, tzinfo=UTC)


def organizers(data: bytes) -> set[str]:
    calendar = Calendar.from_ical(data)
    return {str(event["ORGANIZER"]) for event in calendar.walk("VEVENT")}


@pytest.mark.parametrize("inbound", [True, False])
def test_the_download_and_the_feeds_name_the_invitations_organizer(
    tmp_path: Path, sqlite_url: str, inbound: bool
):
    settings = make_settings(
        tmp_path,
        sqlite_url,
        environ={"S6_IMAP_PASSWORD": "imap-secret"},
        mail={"from_address": "vanphong@example.gov.vn", "from_name": "Văn phòng"},
        inbound={
            "enabled": inbound,
            "address": INBOX,
            "imap_host": "127.0.0.1",
            "imap_user": "giaoban",
            "imap_password_env": "S6_IMAP_PASSWORD",
        },
    )
    meeting = Meeting(
        id=7,
        title="Giao ban quý II",
        starts_at=datetime(2030, 4, 19, 1, 0, tzinfo=UTC),
        ends_at=datetime(2030, 4, 19, 4, 0, tzinfo=UTC),
        status=MeetingStatus.scheduled,
    )
    site = Site(id=3, code="VP", name="Liên hiệp Vĩnh Phúc", endpoint="sip:vp@example.org")
    expected = f"mailto:{INBOX}" if inbound else "mailto:vanphong@example.gov.vn"

    download = calendars.meeting_download(meeting, settings=settings, now=NOW)
    feed = calendars.site_feed(site, [meeting], settings=settings, now=NOW)
    assert organizers(download) == organizers(feed) == {expected}
    # The invitations' renderer asks the same rule.
    invitation = make_renderer(settings).organizer
    assert f"mailto:{invitation.email}" == expected
