"""E-mails as mail clients want them (RFC 6047, iMIP): rendering is pure, no sending here.

Shape: multipart/mixed → multipart/alternative (text/plain, text/html,
text/calendar; method=…; charset=UTF-8), plus the same calendar as an .ics attachment.
The calendar is attached as bytes, so its CRLF line endings survive (a str part with
base64 would arrive with bare LF). Header values are stripped of CR/LF first, so a name
or title typed by a user cannot add a header.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import MIMEPart
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from notify.mail.ical import Method, Person
from notify.mail.transports import Outgoing

_BREAKS = re.compile(r"[\r\n\x00-\x1f\x7f]+")


def header_text(value: str) -> str:
    """A value safe for a header: one line, no control characters."""
    return _BREAKS.sub(" ", value).strip()


def mailbox(person: Person) -> Address:
    local, _, domain = person.email.partition("@")
    if not local or not domain or _BREAKS.search(person.email) or " " in person.email:
        raise ValueError(f"not a mailbox: {person.email!r}")
    return Address(display_name=header_text(person.name), username=local, domain=domain)


#: What every header and shared part is encoded with: CRLF, 7-bit, lines of 78.
MAIL_POLICY = SMTP


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
    reply_to: Person | None = None,
    envelope_sender: str = "",
) -> Outgoing:
    """One e-mail as the bytes a server receives; `attachments` are parts made by
    `attachment_part` or (filename, content type, bytes), e.g. the PDF letter.

    `reply_to` (the inbound mailbox) is where a person's "Reply" goes; `envelope_sender`
    (a VERP return path, `notify.inbound.addresses`) is the SMTP MAIL FROM, where bounces
    go: not a header, so From stays the office's address. Without them: From for both.

    The stdlib encodes every header (through MAIL_POLICY) and the shared attachments;
    the multipart frame around them is written here, because the stdlib's generator,
    line by line in Python, cost more than everything else of a message together. Every
    body is 7-bit whatever the server: texts as the stdlib would encode them, the
    calendar and attachments base64 (CRLF kept); the boundaries are 128 random bits.
    """
    source, destination = mailbox(sender), mailbox(recipient)
    message_id = make_msgid(domain=source.domain)
    alternative = [
        _text_part("plain", rendered.text),
        _text_part("html", rendered.html),
    ]
    related: list[bytes] = []
    if calendar is not None and method is not None:
        alternative.append(_part(f'text/calendar; method="{method}"; charset="UTF-8"', calendar))
        related.append(_ICS_HEAD + _base64(calendar))
    related += [a if isinstance(a, bytes) else attachment_part(*a) for a in attachments]
    headers = (
        _header("From", source)
        + _header("To", destination)
        # The same mailbox for every recipient: through the header cache like From.
        + (_header("Reply-To", mailbox(reply_to)) if reply_to is not None else b"")
        + _header("Subject", header_text(rendered.subject))
        # Ours, ASCII and short: written as they are (the stdlib's parse and fold of
        # these unique values cost more than the rest of the headers).
        + f"Date: {format_datetime(now)}\r\n".encode()
        + _ours("Message-ID", message_id)
        + b"Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
    )
    body = _multipart("alternative", alternative)
    if related:
        body = _multipart("mixed", [body, *related])
    data = headers + body
    return Outgoing(envelope_sender or source.addr_spec, destination.addr_spec, message_id, data)


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


def _header(name: str, value: str | Address) -> bytes:
    """A header in RFC 2047 words (Vietnamese) on folded lines; ASCII ones by the stdlib.

    Text with non-ASCII is written as encoded-words by `encoded_words`: the stdlib's
    folder sometimes leaves the space between two words outside the encoded-words, where
    every decoder drops it ("tổ chức hữunghị"). That is most of the cost of a message,
    and a mailing writes the same From, Subject and part headers thousands of times: a
    header's encoding depends only on its name and text, so each is made once.
    """
    key = (name, str(value))
    folded = _HEADERS.get(key)
    if folded is None:
        if len(_HEADERS) >= 4096:  # every recipient's To is new: they would pile up
            _HEADERS.clear()
        folded = _HEADERS[key] = _encode(name, value)
    return folded


def _encode(name: str, value: str | Address) -> bytes:
    head = f"{name}: "
    if isinstance(value, Address):
        if value.display_name.isascii():
            return MAIL_POLICY.fold_binary(name, MAIL_POLICY.header_factory(name, value))
        phrase = head + encoded_words(value.display_name, first_line=len(head))
        angle = f"<{value.addr_spec}>"
        last_line = phrase.rsplit("\r\n", 1)[-1]
        gap = " " if len(last_line) + 1 + len(angle) <= 78 else "\r\n "
        return f"{phrase}{gap}{angle}\r\n".encode()
    if value.isascii():
        return MAIL_POLICY.fold_binary(name, MAIL_POLICY.header_factory(name, value))
    return f"{head}{encoded_words(value, first_line=len(head))}\r\n".encode()


#: UTF-8 bytes per encoded-word: 52 base64 characters, a word of 64 on a line of 78.
_WORD_BYTES = 39


def encoded_words(text: str, *, first_line: int = 0) -> str:
    """`text` as RFC 2047 base64 encoded-words of whole characters, one per folded line.

    Every character, spaces included, is inside a word, so a decoder that drops the
    whitespace between adjacent words (as RFC 2047 says it must) loses nothing; no word
    splits a UTF-8 sequence. `first_line` is what precedes the first word ("Subject: ").
    """
    words: list[str] = []
    chunk = b""
    limit = _WORD_BYTES - (first_line // 4 * 3 if first_line > 12 else 0)
    for char in text:
        data = char.encode()
        if chunk and len(chunk) + len(data) > limit:
            words.append(_word(chunk))
            chunk, limit = b"", _WORD_BYTES
        chunk += data
    words.append(_word(chunk))
    return "\r\n ".join(words)


def _word(data: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(data).decode()}?="


_HEADERS: dict[tuple[str, str], bytes] = {}


def _ours(name: str, value: str) -> bytes:
    """A header whose value we made: as it is when ASCII on one line, else by the stdlib."""
    line = f"{name}: {value}\r\n"
    return line.encode() if len(line) <= 80 and line.isascii() else _header(name, value)


def _base64(content: bytes) -> bytes:
    # An empty body still ends in the line break the next boundary line needs.
    return (base64.encodebytes(content) or b"\n").replace(b"\n", b"\r\n")


def _text_part(subtype: str, text: str) -> bytes:
    """A text body as the stdlib would encode it for 7-bit transport: as it is when it is
    ASCII in short lines, else the shorter of quoted-printable and base64 (Vietnamese
    prose: base64; HTML markup with some Vietnamese: often quoted-printable). Spam
    filters look askance at text that is base64 without need."""
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: '
    lines = text.replace("\r\n", "\n").encode()
    # The line break before a boundary belongs to the boundary: one more keeps the text's.
    if lines.isascii() and all(len(line) <= 78 for line in lines.split(b"\n")):
        body = lines.replace(b"\n", b"\r\n")
        return f"{head}7bit\r\n\r\n".encode() + body + b"\r\n"
    quoted = binascii.b2a_qp(lines, istext=True).replace(b"\n", b"\r\n")
    if len(quoted) <= len(lines) * 4 // 3:
        return f"{head}quoted-printable\r\n\r\n".encode() + quoted + b"\r\n"
    return f"{head}base64\r\n\r\n".encode() + _base64(lines)


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
        f'Content-Type: multipart/{subtype};\r\n boundary="{boundary}"\r\n\r\n'.encode()
        + b"".join(dash + part for part in parts)
        + f"--{boundary}--\r\n".encode()
    )
