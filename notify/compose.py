"""E-mails as mail clients want them (RFC 6047, iMIP): rendering is pure, no sending here.

Shape: multipart/mixed → multipart/alternative (text/plain, text/html,
text/calendar; method=…; charset=UTF-8), plus the same calendar as an .ics attachment.
The calendar is attached as bytes, so its CRLF line endings survive (a str part with
base64 would arrive with bare LF). Header values are stripped of CR/LF first, so a name
or title typed by a user cannot add a header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from notify.ical import Method, Person

_BREAKS = re.compile(r"[\r\n\x00-\x1f\x7f]+")


def header_text(value: str) -> str:
    """A value safe for a header: one line, no control characters."""
    return _BREAKS.sub(" ", value).strip()


def mailbox(person: Person) -> Address:
    local, _, domain = person.email.partition("@")
    if not local or not domain or _BREAKS.search(person.email) or " " in person.email:
        raise ValueError(f"not a mailbox: {person.email!r}")
    return Address(display_name=header_text(person.name), username=local, domain=domain)


@dataclass(frozen=True)
class Rendered:
    """The human parts of a message, in the recipient's language."""

    subject: str
    text: str
    html: str


def compose(
    *,
    sender: Person,
    recipient: Person,
    rendered: Rendered,
    calendar: bytes | None,
    method: Method | None,
    now: datetime,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
) -> EmailMessage:
    """One e-mail; `attachments` are (filename, content type, bytes), e.g. the PDF letter."""
    message = EmailMessage()
    message["From"] = mailbox(sender)
    message["To"] = mailbox(recipient)
    message["Subject"] = header_text(rendered.subject)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender.email.partition("@")[2])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text, subtype="plain", charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    if calendar is not None and method is not None:
        params = {"method": method, "charset": "UTF-8"}
        message.add_alternative(calendar, maintype="text", subtype="calendar", params=params)
        message.add_attachment(
            calendar, maintype="application", subtype="ics", filename="giaoban.ics"
        )
    for filename, content_type, content in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message
