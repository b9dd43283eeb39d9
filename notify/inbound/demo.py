"""Illustrative mail from the sites for the demo's coming session: calendar answers as
Outlook, Gmail, Apple Calendar and Thunderbird send them, a proposal of another time and
an answer from an address that was not invited — so the session page shows the answers'
sources, the proposal waiting for a decision and the inbox without a mailbox set up.

They go through the same reader's output and the same `take_in` as mail read over IMAP;
their keys are fixed, so loading the demo again adds nothing.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.demo_sessions import NEXT_UID
from meetings.planning.models import Meeting, Participation
from meetings.register.models import Contact, Site
from notify.inbound import apply
from notify.inbound.lookup import stored
from notify.inbound.parsed import CalendarAnswer, Envelope, Mail

#: (site's province, PARTSTAT, subject prefix as the client writes it, comment).
DEMO_ANSWERS = (
    ("Vĩnh Phúc", "ACCEPTED", "Accepted", ""),
    ("Hà Nội", "ACCEPTED", "Đã chấp nhận", ""),
    ("Nghệ An", "TENTATIVE", "Tentative", "Chờ lịch công tác của lãnh đạo tỉnh."),
    ("Kon Tum", "DECLINED", "Declined", "Trùng lịch hội nghị của Tỉnh ủy."),
)
#: The site that proposes to start an hour later.
DEMO_COUNTER = "Kiên Giang"
DEMO_STRANGER = "vanthu.lhhn@example.net"


async def load_demo_mail(session: AsyncSession, *, now: datetime) -> int:
    """Take in the demo's mail for the coming session; returns how many were new."""
    meeting = await session.scalar(select(Meeting).where(col(Meeting.uid) == NEXT_UID))
    if meeting is None:
        return 0
    contacts = await _first_contacts(session, meeting.id or 0)
    mails: list[Mail] = []
    for number, (province, partstat, prefix, comment) in enumerate(DEMO_ANSWERS):
        if address := contacts.get(province):
            answer = CalendarAnswer("REPLY", meeting.uid, meeting.sequence, address, partstat)
            mails.append(_mail(number, address, f"{prefix}: {meeting.title}", answer, comment, now))
    if address := contacts.get(DEMO_COUNTER):
        later = CalendarAnswer(
            "COUNTER",
            meeting.uid,
            meeting.sequence,
            address,
            "NEEDS-ACTION",
            comment="Đề nghị lùi 1 giờ để điểm cầu kịp chuẩn bị đường truyền.",
            starts_at=meeting.starts_at + timedelta(hours=1),
            ends_at=meeting.ends_at + timedelta(hours=1),
        )
        mails.append(_mail(10, address, f"New Time Proposed: {meeting.title}", later, "", now))
    stranger = CalendarAnswer("REPLY", meeting.uid, meeting.sequence, DEMO_STRANGER, "ACCEPTED")
    mails.append(_mail(11, DEMO_STRANGER, f"Accepted: {meeting.title}", stranger, "", now))
    before = len(await stored(session, [apply.key_of(m) for m in mails]))
    await apply.take_in(session, mails, inbound_address="", secret="", now=now)
    return len(mails) - before


def _mail(
    number: int, address: str, subject: str, answer: CalendarAnswer, comment: str, now: datetime
) -> Mail:
    if comment:
        answer = dataclasses.replace(answer, comment=comment)
    envelope = Envelope(f"<demo-{number}@demo.giaoban>", address, subject, now)
    return Mail(envelope, answer)


async def _first_contacts(session: AsyncSession, meeting_id: int) -> dict[str, str]:
    """Each invited site's first contact address, by the site's province."""
    rows = await session.execute(
        select(col(Site.province), col(Contact.email))
        .join(Participation, col(Participation.site_id) == col(Site.id))
        .join(Contact, col(Contact.site_id) == col(Site.id))
        .where(col(Participation.meeting_id) == meeting_id)
        .order_by(col(Contact.position))
    )
    found: dict[str, str] = {}
    for province, email in rows.all():
        found.setdefault(province, email.lower())
    return found
