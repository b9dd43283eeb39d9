"""Calendar objects as clients read them: icalendar, and ical.js (Thunderbird's parser)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from notify.mail.ical import CalendarEvent, Person, feed, scheduling

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2030, 4, 1, 3, 0, tzinfo=UTC)
JS_DIR = Path(__file__).resolve().parents[3] / "tests" / "js"
ORGANIZER = Person("Văn phòng Liên hiệp, Hà Nội", "giaoban@example.org")
EVENT = CalendarEvent(
    uid="0b9c@giaoban",
    sequence=2,
    summary="Hội nghị Giao ban trực tuyến; quý II",
    starts_at=datetime(2030, 4, 19, 8, 0, tzinfo=HANOI),
    ends_at=datetime(2030, 4, 19, 11, 30, tzinfo=HANOI),
    timezone="Asia/Ho_Chi_Minh",
    organizer=ORGANIZER,
    location="Phòng họp Liên hiệp Kiên Giang; https://meet.example.org/giaoban",
    description="Chương trình:\n1. Khai mạc\n2. Báo cáo",
    url="https://giaoban.example.org/s/token",
)
SITES = [Person("Nguyễn Văn A", "a@example.org"), Person("Trần Thị B", "b@example.org")]


def ical_js(data: bytes) -> dict:
    """What ical.js makes of the bytes (the parser inside Thunderbird)."""
    if not (JS_DIR / "node_modules" / "ical.js").is_dir() or not shutil.which("node"):
        if os.environ.get("CI"):
            pytest.fail("ical.js is required in CI (scripts/test.sh installs it with npm)")
        pytest.skip("ical.js not installed (npm install --prefix tests/js)")
    result = subprocess.run(
        ["node", str(JS_DIR / "parse.mjs")],
        input=data,
        capture_output=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_an_invitation_is_a_request_every_site_can_answer():
    data = scheduling(EVENT, SITES, method="REQUEST", now=NOW)
    calendar = Calendar.from_ical(data)
    assert calendar["METHOD"] == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == "0b9c@giaoban" and event["SEQUENCE"] == 2
    assert event["DTSTART"].dt == EVENT.starts_at and event["DTSTART"].params["TZID"] == (
        "Asia/Ho_Chi_Minh"
    )
    assert event["DTSTAMP"].dt == NOW
    assert [str(a) for a in event["ATTENDEE"]] == ["mailto:a@example.org", "mailto:b@example.org"]
    assert all(
        a.params["RSVP"] == "TRUE" and a.params["PARTSTAT"] == "NEEDS-ACTION"
        for a in event["ATTENDEE"]
    )
    assert event["ORGANIZER"].params["CN"] == "Văn phòng Liên hiệp, Hà Nội"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Ho_Chi_Minh"]
    assert len(event.walk("VALARM")) == 1
    # Lines end in CRLF and are folded at 75 octets without splitting a character.
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    for line in data.split(b"\r\n"):
        assert len(line) <= 75
        line.decode("utf-8")

    seen = ical_js(data)
    assert seen["method"] == "REQUEST" and seen["timezones"] == ["Asia/Ho_Chi_Minh"]
    (parsed,) = seen["events"]
    assert parsed["summary"] == "Hội nghị Giao ban trực tuyến; quý II"
    assert parsed["start"] == "2030-04-19T01:00:00.000Z" and parsed["sequence"] == 2
    assert parsed["location"] == EVENT.location
    assert [a["address"] for a in parsed["attendees"]] == [
        "mailto:a@example.org",
        "mailto:b@example.org",
    ]
    assert parsed["attendees"][0]["cn"] == "Nguyễn Văn A" and parsed["alarms"] == 1


def test_a_cancellation_keeps_the_uid_and_drops_the_alarm():
    cancelled = CalendarEvent(**{**EVENT.__dict__, "sequence": 3, "is_cancelled": True})
    data = scheduling(cancelled, SITES[:1], method="CANCEL", now=NOW)
    seen = ical_js(data)
    assert seen["method"] == "CANCEL"
    (parsed,) = seen["events"]
    assert (parsed["uid"], parsed["sequence"], parsed["status"]) == ("0b9c@giaoban", 3, "CANCELLED")
    assert parsed["alarms"] == 0


def test_a_feed_publishes_without_attendees_and_keeps_cancelled_events():
    later = CalendarEvent(
        **{
            **EVENT.__dict__,
            "uid": "next@giaoban",
            "is_cancelled": True,
            "starts_at": EVENT.starts_at + timedelta(days=90),
            "ends_at": EVENT.ends_at + timedelta(days=90),
        }
    )
    data = feed([EVENT, later], name="Lịch giao ban — Kiên Giang", now=NOW)
    calendar = Calendar.from_ical(data)
    assert calendar["METHOD"] == "PUBLISH"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in data and b"X-PUBLISHED-TTL:PT1H" in data
    seen = ical_js(data)
    assert [e["status"] for e in seen["events"]] == ["CONFIRMED", "CANCELLED"]
    assert all(e["attendees"] == [] for e in seen["events"])


def test_a_site_abroad_gets_a_zone_with_its_summer_time():
    berlin = CalendarEvent(**{**EVENT.__dict__, "timezone": "Europe/Berlin"})
    data = scheduling(berlin, SITES[:1], method="REQUEST", now=NOW)
    (zone,) = Calendar.from_ical(data).walk("VTIMEZONE")
    assert zone["TZID"] == "Europe/Berlin"
    assert {c.name for c in zone.subcomponents} >= {"STANDARD", "DAYLIGHT"}
    (parsed,) = ical_js(data)["events"]
    assert parsed["start"] == "2030-04-19T01:00:00.000Z"  # 03:00 CEST, the same instant


def test_a_feed_over_several_years_keeps_every_summer_time_right():
    # A regression: zones written as RDATE lists were misread by ical.js.
    berlin = ZoneInfo("Europe/Berlin")
    events = [
        CalendarEvent(
            **{
                **EVENT.__dict__,
                "uid": f"{year}-{month}@giaoban",
                "timezone": "Europe/Berlin",
                "starts_at": datetime(year, month, 1, 9, 0, tzinfo=berlin),
                "ends_at": datetime(year, month, 1, 10, 0, tzinfo=berlin),
            }
        )
        for year in (2029, 2030, 2031)
        for month in (1, 7)
    ]
    seen = ical_js(feed(events, name="Lịch", now=NOW))
    assert [e["start"][:16] for e in seen["events"]] == [
        "2029-01-01T08:00",
        "2029-07-01T07:00",
        "2030-01-01T08:00",
        "2030-07-01T07:00",
        "2031-01-01T08:00",
        "2031-07-01T07:00",
    ]


def test_typed_line_breaks_cannot_inject_properties():
    nasty = Person("Evil\r\nATTENDEE:mailto:x@example.org", "a@example.org")
    event = CalendarEvent(**{**EVENT.__dict__, "summary": "Họp\r\nMETHOD:CANCEL"})
    data = scheduling(event, [nasty], method="REQUEST", now=NOW)
    calendar = Calendar.from_ical(data)
    assert calendar["METHOD"] == "REQUEST"
    (parsed,) = calendar.walk("VEVENT")
    assert [str(a) for a in [parsed["ATTENDEE"]]] == ["mailto:a@example.org"]
    assert str(parsed["SUMMARY"]) == "Họp METHOD:CANCEL"
