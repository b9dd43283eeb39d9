"""E-mails as mail clients want them (RFC 6047, iMIP): rendering is pure, no sending here.

Shape: multipart/mixed → multipart/alternative (text/plain, text/html,
text/calendar; method=…; charset=UTF-8), plus the same calendar as an .ics attachment.
The calendar is attached as bytes, so its CRLF line endings survive (a str part with
base64 would arrive with bare LF). Header values are stripped of CR/LF first, so a name
or title typed by a user cannot add a header.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import MIMEPart
from email.policy import EmailPolicy
from email.utils import format_datetime, make_msgid
from typing import Any

from notify.ical import Method, Person
from notify.outbox import Outgoing

_BREAKS = re.compile(r"[\r\n\x00-\x1f\x7f]+")


def header_text(value: str) -> str:
    """A value safe for a header: one line, no control characters."""
    return _BREAKS.sub(" ", value).strip()


def mailbox(person: Person) -> Address:
    local, _, domain = person.email.partition("@")
    if not local or not domain or _BREAKS.search(person.email) or " " in person.email:
        raise ValueError(f"not a mailbox: {person.email!r}")
    return Address(display_name=header_text(person.name), username=local, domain=domain)


class _MailPolicy(EmailPolicy):
    """The SMTP policy (CRLF, 7-bit headers) remembering the headers it parsed and folded.

    Parsing and folding a header (RFC 2047 words for Vietnamese, line folding) is most
    of the cost of writing a message with the standard library, and a mailing writes the
    same From, Subject and part headers thousands of times. A header object's fold
    depends only on its name and text (the parse tree it folds is built from that text)
    and on the policy's line settings, so each is computed once. The generator clones
    the policy for every part, so the caches are keyed by those settings, not by object.
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if type(value) is not str:  # an Address or a header object: no text to key on
            return super().header_store_parse(name, value)
        return _remember(_PARSED, (name, value), super().header_store_parse, name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        if not hasattr(value, "name"):  # source text of a parsed message: as the stdlib
            return super().fold_binary(name, value)
        key = (self.linesep, self.max_line_length, self.utf8, name, str(value))
        return _remember(_FOLDED, key, super().fold_binary, name, value)


_PARSED: dict[tuple[object, ...], Any] = {}
_FOLDED: dict[tuple[object, ...], Any] = {}


def _remember(
    cache: dict[tuple[object, ...], Any], key: tuple[object, ...], make: Any, *args: Any
) -> Any:
    found = cache.get(key)
    if found is None:
        if len(cache) >= 4096:  # the unique ones (To, Date, Message-ID) would pile up
            cache.clear()
        found = cache[key] = make(*args)
    return found


#: What every message is built and written with.
MAIL_POLICY = _MailPolicy(linesep="\r\n")


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
    attachments: Sequence[bytes | tuple[str, str, bytes]] = (),
) -> Outgoing:
    """One e-mail as the bytes a server receives; `attachments` are parts made by
    `attachment_part` or (filename, content type, bytes), e.g. the PDF letter.

    The stdlib encodes every header (through MAIL_POLICY) and the shared attachments;
    the multipart frame around them is written here, because the stdlib's generator,
    line by line in Python, cost more than everything else of a message together. Every
    body is base64 (7-bit whatever the server, CRLF kept), so no boundary can occur in
    it: base64 has no "-".
    """
    source, destination = mailbox(sender), mailbox(recipient)
    message_id = make_msgid(domain=source.domain)
    alternative = [
        _part('text/plain; charset="utf-8"', rendered.text.encode()),
        _part('text/html; charset="utf-8"', rendered.html.encode()),
    ]
    related: list[bytes] = []
    if calendar is not None and method is not None:
        alternative.append(_part(f'text/calendar; method="{method}"; charset="UTF-8"', calendar))
        related.append(_ICS_HEAD + _base64(calendar))
    related += [a if isinstance(a, bytes) else attachment_part(*a) for a in attachments]
    headers = [
        ("From", source),
        ("To", destination),
        ("Subject", header_text(rendered.subject)),
        ("Date", format_datetime(now)),
        ("Message-ID", message_id),
        ("Auto-Submitted", "auto-generated"),
        ("MIME-Version", "1.0"),
    ]
    body = _multipart("alternative", alternative)
    if related:
        body = _multipart("mixed", [body, *related])
    data = b"".join(_header(name, value) for name, value in headers) + body
    return Outgoing(source.addr_spec, destination.addr_spec, message_id, data)


def attachment_part(filename: str, content_type: str, content: bytes) -> bytes:
    """An attachment part, made once and shared by every message that carries it (the
    letter of a mailing: encoded once, not per recipient)."""
    maintype, _, subtype = content_type.partition("/")
    part = MIMEPart(policy=MAIL_POLICY)
    part.set_content(
        content, maintype=maintype, subtype=subtype, disposition="attachment", filename=filename
    )
    return part.as_bytes()


_ICS_HEAD = (
    b"Content-Type: application/ics\r\n"
    b'Content-Disposition: attachment; filename="giaoban.ics"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\n"
)


def _header(name: str, value: object) -> bytes:
    return bytes(MAIL_POLICY.fold_binary(name, MAIL_POLICY.header_factory(name, value)))


def _base64(content: bytes) -> bytes:
    # An empty body still ends in the line break the next boundary line needs.
    return (base64.encodebytes(content) or b"\n").replace(b"\n", b"\r\n")


def _part(content_type: str, content: bytes) -> bytes:
    return (
        f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n\r\n".encode()
        + _base64(content)
    )


def _multipart(subtype: str, parts: list[bytes]) -> bytes:
    """Headers of the frame and its parts, each part its own headers, blank line, body."""
    boundary = f"giaoban-{secrets.token_hex(16)}"
    dash = f"--{boundary}\r\n".encode()
    return (
        _header("Content-Type", f'multipart/{subtype}; boundary="{boundary}"')
        + b"\r\n"
        + b"".join(dash + part for part in parts)
        + f"--{boundary}--\r\n".encode()
    )
