"""Invitations made from per-session templates (notify.mail.ical_splice, bodies): the same
bytes as built whole, and each recipient's own ATTENDEE, address, name and link."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy

from icalendar import Calendar
from icalendar.parser.string import _foldline

from meetings.planning.models import Meeting
from meetings.register.models import Site
from notify.mail import ical, ical_splice, invitations, outbox, transports
from notify.mail.bodies import Stencils, Wording, _render
from notify.mail.ical import Person
from notify.mail.models import MessageKind
from notify.mail.render import make_renderer
from tests.notify.mail.test_ical import EVENT, NOW, SITES, ical_js
from tests.notify.mail.test_outbox import SECRET, Clock, plan


def test_the_spliced_calendar_is_byte_for_byte_what_icalendar_writes():
    texts = ("", "  ", "Phòng họp, tầng 2; số 1\\B^ Kính gửi\r\nđại biểu\n" * 20)
    people = ([], SITES[:1], [Person("", "c@example.org"), Person("Lê, Văn; C" * 8, "d@x.vn")])
    for n, (location, description, url, attendees) in enumerate(
        (a, b, c, d)
        for a in texts
        for b in texts
        for c in ("", "https://x.vn/s/a,b")
        for d in people
    ):
        event = replace(
            EVENT,
            location=location,
            description=description,
            url=url,
            sequence=n % 3,
            is_cancelled=n % 4 == 0,
        )
        for method in ("REQUEST", "CANCEL"):
            now = datetime(2030, 4, 1, 3, n % 60, n % 7, n, tzinfo=UTC)
            expected = ical.scheduling(event, attendees, method=method, now=now)
            assert ical_splice.scheduling(event, attendees, method=method, now=now) == expected


def test_lines_are_folded_as_icalendar_folds_them():
    alphabet = 'ab ,;:\\^"ệữđ𝄞'
    rng = random.Random(17)
    for _ in range(2000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        assert ical_splice.fold(line) == _foldline(line).encode()


def test_a_client_reads_the_spliced_calendar_as_the_one_built_whole():
    data = ical_splice.scheduling(EVENT, SITES[1:], method="REQUEST", now=NOW)
    assert ical_js(data) == ical_js(ical.scheduling(EVENT, SITES[1:], method="REQUEST", now=NOW))
    assert [a["address"] for a in ical_js(data)["events"][0]["attendees"]] == [
        "mailto:b@example.org"
    ]


async def test_each_recipient_is_the_only_attendee_of_their_own_invitation(
    settings, session_factory
):
    maker = session_factory
    meeting, _ = await plan(maker, sites=2, contacts=("chutich", "kythuat"))
    async with maker() as session, session.begin():
        await invitations.queue_invitations(session, meeting.id, secret_key=SECRET)
    report = await outbox.deliver_due(
        maker, transports.transport_for(settings.mail), make_renderer(settings), now=Clock()
    )
    assert report.sent == 4
    links = {}
    for eml in settings.mail.drop_dir.glob("*.eml"):
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        (to,) = message["To"].addresses
        part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
        (event,) = Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")
        assert str(event["ATTENDEE"]) == f"mailto:{to.addr_spec}"  # one, and theirs
        assert (str(event["UID"]), event["SEQUENCE"]) == (meeting.uid, 0)
        text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
        assert str(event["URL"]) in text.get_content()  # the link the letter gives
        links[to.addr_spec] = str(event["URL"])
    assert links["chutich0@example.org"] == links["kythuat0@example.org"]
    assert links["chutich1@example.org"] == links["kythuat1@example.org"]
    assert links["chutich0@example.org"] != links["chutich1@example.org"]


def test_bodies_filled_in_from_a_stencil_are_those_rendered_for_each_site(settings):
    renderer = make_renderer(settings)
    meeting = Meeting(
        id=1,
        title="Hội nghị <giao ban> & tổng kết",
        starts_at=datetime(2030, 4, 19, 1, tzinfo=UTC),
        ends_at=datetime(2030, 4, 19, 4, tzinfo=UTC),
        timezone="Asia/Ho_Chi_Minh",
        location="Hội trường",
        video_url="https://meet.example.org/a?b=1&c=2",
        uid="u@giaoban",
    )
    stencils = Stencils()
    for n, (name, zone, endpoint) in enumerate(
        (
            ('Điểm cầu "Kiên Giang" <1> & Co', "", "Phòng 2 <A>"),
            ("GBSTENCILURL0 Cà Mau", "", ""),  # a mark in a name stays as typed
            ("Điểm cầu Côn Đảo", "Asia/Bangkok", "sip:1&2@example.org"),
            ("Điểm cầu Phú Quốc", "", "Phòng 3"),  # the first one's stencils
        )
    ):
        site = Site(id=n + 1, code=f"S{n}", name=name, timezone=zone)
        for kind, locale in ((MessageKind.invitation, "vi"), (MessageKind.reminder, "en")):
            wording = Wording(meeting, kind, locale, "Kính mời", [], [])
            url = f"https://giaoban.example.org/s/tok{n}?a=1&b=2"
            filled = stencils.bodies(
                renderer.templates, wording, site, site_url=url, endpoint=endpoint, changes=[]
            )
            zone_used = zone or meeting.timezone
            assert filled == _render(
                renderer.templates, wording, site, url, endpoint, zone_used, []
            )
    assert len(stencils.made) == 6  # per kind and language, zone and room: not per site
