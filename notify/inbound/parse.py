"""What an inbound e-mail means: pure, from its bytes to a `parsed.Mail`.

`understand` never raises: whatever arrives in the mailbox (a client's calendar answer,
a mail server's bounce, a person's reply, spam, garbage) becomes a meaning, and what
cannot be read becomes `Unreadable(reason)` for a person to look at.

Fast, because it runs on every message fetched over IMAP (a national session's answers
come as thousands): the stdlib's compat32 parser (the lean one: no header objects), and
iCalendar read by patterns for the few properties an answer has — the icalendar library
costs about 0.7 ms per calendar and is only asked for a VTIMEZONE, when a COUNTER's
proposed time needs one (cached by its text). Measured with timeit (best of 7 × 1000) on
the 2 shared cores of the build machine, under a load of 2–3: outlook_accept.eml
0.46 ms, google_decline.eml 0.53 ms, thunderbird_accept.eml 0.41 ms, plain_reply.eml
0.30 ms, dsn_5_1_1.eml 0.48 ms per message, of which the stdlib's parser alone takes
0.16–0.32 ms; 10,000 mixed samples in about 4 s.

What is an answer, a bounce or a reply:
- a bounce is recognised by what servers put in headers, not by words: a report
  (multipart/report; report-type=delivery-status), or a null / MAILER-DAEMON sender or
  X-Failed-Recipients, with a failed address and a server's status (5.1.1) or SMTP code
  (550) in it — an out-of-office reply from a null sender is not a bounce, and a
  calendar answer wins over a bounce told by its sender only;
- a calendar part (text/calendar or application/ics, inline or attached, any name and
  transfer encoding) with METHOD REPLY or COUNTER, in its body or its MIME header, is an
  answer; a REQUEST or CANCEL (our own invitation forwarded back) is not;
- anything else with a text is a plain reply, its quoted original cut off.

The returned message inside a bounce (message/rfc822) is never read as an answer: it is
our own invitation, with our own calendar.

`Bounce.outbox_id` is always None here: the VERP return path needs the service's secret
and inbound address, which a pure reader does not have; the caller decodes
`mail.envelope.delivered_to` with `addresses.outbox_id_of`.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Literal
from zoneinfo import ZoneInfo

from icalendar import Timezone
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from notify.inbound.parsed import (
    Bounce,
    CalendarAnswer,
    Envelope,
    Mail,
    Meaning,
    PlainReply,
    Unreadable,
)

#: The longest reply text kept (a reply is a few lines; this is a whole letter).
MAX_TEXT = 20_000
#: A Message-ID longer than the key column is not used as the key (digest instead).
MAX_KEY = 250
#: How deep MIME parts are followed (real mail nests 3 or 4 levels).
MAX_DEPTH = 12

_IDS = re.compile(r"<[^<>\s]+>")
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_CODE = re.compile(r"(?<!\d)([45])\d\d(?=[\s-])")
_ANGLED = re.compile(r"<([^<>\s@]+@[^<>\s@]+)>")
_ADDRESS = re.compile(r"[^\s<>\"'(),;:@]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_REPORTS = ("delivery-status", "global-delivery-status")
_DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")


def understand(raw: bytes) -> Mail:
    """The meaning of one e-mail as the IMAP server returns it (RFC 822 bytes)."""
    try:
        message = message_from_bytes(raw, policy=compat32)
        headers = _index(message)
        envelope = _envelope(headers, raw)
    except Exception as error:  # the contract: never raises, whatever the bytes
        return Mail(_digest_envelope(raw), Unreadable(_reason("headers", error)))
    if not raw.strip():
        return Mail(envelope, Unreadable("empty message"))
    try:
        meaning = _meaning(message, headers, envelope)
    except Exception as error:  # a defect no rule foresaw: kept for a person to see
        meaning = Unreadable(_reason("body", error))
    return Mail(envelope, meaning)


def _reason(where: str, error: BaseException) -> str:
    return f"{where}: {type(error).__name__}: {error}"[:500]


# ---------------------------------------------------------------------------- envelope


def _digest_envelope(raw: bytes) -> Envelope:
    return Envelope(key=_digest(raw), sender="", subject="", date=None)


def _digest(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


_Headers = dict[str, list[str]]


def _index(message: Message) -> _Headers:
    """Every header by lower-case name, raw, in order: read once, asked many times."""
    index: _Headers = {}
    for key, value in message.raw_items():
        index.setdefault(key.lower(), []).append(value)
    return index


def _header(message: Message | _Headers, name: str) -> str:
    """The first `name` header, unfolded, RFC 2047 words decoded, raw UTF-8 kept."""
    values = _headers(message, name)
    return _decoded(values[0]) if values else ""


def _headers(message: Message | _Headers, name: str) -> list[str]:
    if isinstance(message, dict):
        return [_unfold(value) for value in message.get(name, ())]
    return [_unfold(v) for k, v in message.raw_items() if k.lower() == name]


def _unfold(value: str) -> str:
    """One line; 8-bit bytes (RFC 6532 headers) read as UTF-8."""
    if not value.isascii():
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join(value.split())


def _decoded(value: str) -> str:
    value = _unfold(value)
    if "=?" not in value:
        return value
    try:
        return " ".join(str(make_header(decode_header(value))).split())
    except Exception:  # an unknown charset or a broken word: the words as they came
        return value


_SIMPLE_ADDRESS = re.compile(r"(?:[^<>]*<)?([^<>\s\"(),;:@]+@[^<>\s\"(),;:@]+)>?\s*")


def _address(value: str) -> str:
    """The address in a header value, lower-case; "" when there is none. The common
    shapes ("addr", "Name <addr>") by a pattern; the stdlib's parser for the rest."""
    simple = _SIMPLE_ADDRESS.fullmatch(value)
    found = (simple.group(1) if simple else parseaddr(value)[1]).strip().lower()
    local, at, domain = found.rpartition("@")
    return found if local and at and domain and "\ufffd" not in found else ""


def _envelope(message: _Headers, raw: bytes) -> Envelope:
    ids = _IDS.findall(_header(message, "message-id"))
    key = ids[0] if ids and len(ids[0]) <= MAX_KEY else _digest(raw)
    answers: list[str] = []
    references = _IDS.findall(_header(message, "references"))
    for found in _IDS.findall(_header(message, "in-reply-to")) + references[::-1]:
        if found not in answers:
            answers.append(found)
    delivered = ""
    for name in ("delivered-to", "x-original-to", "envelope-to", "to"):
        values = _headers(message, name)
        if values:
            delivered = _address(values[0] if "," not in values[0] else _first(values[0]))
            if delivered:
                break
    from_ = _headers(message, "from")
    return Envelope(
        key=key,
        sender=_address(from_[0]) if from_ else "",
        subject=_header(message, "subject")[:1000],
        date=_date(_header(message, "date")),
        answers=tuple(answers),
        delivered_to=delivered,
    )


def _first(value: str) -> str:
    pairs = getaddresses([value])
    return pairs[0][1] if pairs else ""


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000": UTC, origin unknown (RFC 5322)
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# ---------------------------------------------------------------------------- parts


@dataclass
class _Parts:
    """The parts that carry meaning, found in one walk (returned messages not entered)."""

    calendars: list[Message] = field(default_factory=list)
    plain: list[Message] = field(default_factory=list)
    html: list[Message] = field(default_factory=list)
    reports: list[Message] = field(default_factory=list)
    returned: list[Message] = field(default_factory=list)
    returned_headers: list[Message] = field(default_factory=list)
    broken: str = ""


def _walk(message: Message) -> _Parts:
    parts = _Parts()
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        kind = part.get_content_type()
        if kind.startswith("multipart/"):
            children = part.get_payload()
            if not isinstance(children, list):
                parts.broken = parts.broken or f"{kind} without the parts its boundary names"
                continue
            if depth < MAX_DEPTH:
                stack.extend(
                    (child, depth + 1) for child in reversed(children) if isinstance(child, Message)
                )
        elif kind == "message/rfc822":
            parts.returned.append(part)
        elif kind == "text/rfc822-headers":
            parts.returned_headers.append(part)
        elif kind in ("message/delivery-status", "message/global-delivery-status"):
            parts.reports.append(part)
        elif kind == "text/plain" and not _is_attachment(part):
            parts.plain.append(part)
        elif kind == "text/html" and not _is_attachment(part):
            parts.html.append(part)
        elif kind in ("text/calendar", "application/ics") or _is_ics(part):
            parts.calendars.append(part)
    return parts


def _is_ics(part: Message) -> bool:
    name = part.get_param("name") or part.get_param("filename", header="content-disposition")
    return isinstance(name, str) and name.lower().endswith(".ics")


def _is_attachment(part: Message) -> bool:
    return part.get("content-disposition", "").strip().lower().startswith("attachment")


def _text(part: Message) -> str:
    """A text part's content, decoded from its transfer encoding and charset."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, "replace")
    except LookupError:  # an unknown charset name
        return data.decode("utf-8", "replace")


# ---------------------------------------------------------------------------- meaning


def _meaning(message: Message, headers: _Headers, envelope: Envelope) -> Meaning:
    parts = _walk(message)
    if parts.broken and not (parts.plain or parts.html or parts.calendars or parts.reports):
        return Unreadable(f"broken MIME: {parts.broken}")
    reported = _is_report(message, parts)
    bounced = _looks_bounced(headers, envelope)
    bounce = _bounce(headers, envelope, parts) if reported or bounced else None
    if reported and bounce is not None:
        return bounce
    # A calendar answer before a bounce told by its sender only: a REPLY that a calendar
    # server sent from a null sender is still a REPLY.
    for part in parts.calendars:
        answer = _calendar_answer(part)
        if answer is not None:
            return answer
    if bounce is not None:
        return bounce
    if not envelope.sender:
        return Unreadable("no sender (From)")
    if parts.plain:
        return PlainReply(cut_quotes(_text(parts.plain[0])))
    if parts.html:
        return PlainReply(cut_quotes(html_text(_text(parts.html[0]))))
    if parts.broken:
        return Unreadable(f"broken MIME: {parts.broken}")
    return Unreadable("no text in the message")


def _is_report(message: Message, parts: _Parts) -> bool:
    """An RFC 3464 delivery status notification, whoever sent it (Exchange's NDR comes
    from a "MicrosoftExchange…" address, not MAILER-DAEMON)."""
    if not parts.reports or message.get_content_type() != "multipart/report":
        return False
    report = message.get_param("report-type")
    return isinstance(report, str) and report.lower() in _REPORTS


def _looks_bounced(headers: _Headers, envelope: Envelope) -> bool:
    """Sent as servers send bounces: the null return path, a MAILER-DAEMON, or the
    failed addresses in a header (Exim, Gmail)."""
    if "x-failed-recipients" in headers:
        return True
    return_path = _headers(headers, "return-path")
    if return_path and return_path[0].strip() in ("<>", ""):
        return True
    local = envelope.sender.partition("@")[0]
    return local in _DAEMONS


# ---------------------------------------------------------------------------- bounces


def _bounce(headers: _Headers, envelope: Envelope, parts: _Parts) -> Meaning | None:
    """The failure a bounce reports; None when nothing in it names a failed address
    (an out-of-office reply from a null sender is not a bounce)."""
    original = _original_id(parts, envelope)
    if parts.reports:
        reported = _reported(parts.reports[0])
        if reported is not None:
            recipient, action, status, diagnostic = reported
            if action not in ("failed", "delayed"):
                return Unreadable(f"a delivery report without a failure (Action: {action})")
            if not status:
                status = "5.0.0" if action == "failed" else "4.0.0"
            return Bounce(
                outbox_id=None,
                original_message_id=original,
                recipient=recipient,
                status=status,
                permanent=status.startswith("5") and action == "failed",
                diagnostic=diagnostic,
            )
    notice = "\n".join(_text(part) for part in parts.plain[:2])
    if not parts.plain and not parts.html:
        return None
    if not notice:
        notice = html_text(_text(parts.html[0]))
    notice = _notification(notice)
    failed = _headers(headers, "x-failed-recipients")
    recipient = _address(failed[0].split(",")[0]) if failed else _failed_address(notice)
    if not recipient:
        return None
    status_found = _STATUS.search(notice)
    code = _SMTP_CODE.search(notice)
    if status_found:
        status = status_found.group(0)
    elif code:
        status = f"{code.group(1)}.0.0"
    elif not failed:
        # No server's answer and no X-Failed-Recipients: an address in an auto-reply
        # from a null sender is not a failure; marking it bounced would silence a site.
        return None
    elif re.search(r"delayed|will be retried|temporar", notice, re.IGNORECASE):
        status = "4.0.0"
    else:
        status = "5.0.0"
    return Bounce(
        outbox_id=None,
        original_message_id=original,
        recipient=recipient,
        status=status,
        permanent=status.startswith("5"),
        diagnostic=_diagnostic(notice, recipient),
    )


def _reported(report: Message) -> tuple[str, str, str, str] | None:
    """(recipient, action, status, diagnostic) of the report's failed recipient (the
    first failed one, else the first delayed, else the first)."""
    blocks = report.get_payload()
    if not isinstance(blocks, list):
        blocks = [HeaderParser(policy=compat32).parsestr(chunk) for chunk in _chunks(report)]
    found: list[tuple[str, str, str, str]] = []
    for block in blocks:
        if not isinstance(block, Message):
            continue
        named = _header(block, "final-recipient") or _header(block, "original-recipient")
        if not named:
            continue
        recipient = _address(named.rpartition(";")[2])
        action = _header(block, "action").lower().strip()
        status = _STATUS.search(_header(block, "status"))
        diagnostic = _header(block, "diagnostic-code")
        if ";" in diagnostic[:20]:
            diagnostic = diagnostic.split(";", 1)[1].strip()
        found.append((recipient, action, status.group(0) if status else "", diagnostic[:1000]))
    for wanted in ("failed", "delayed"):
        for entry in found:
            if entry[1] == wanted:
                return entry
    return found[0] if found else None


def _chunks(report: Message) -> list[str]:
    text = _text(report).replace("\r\n", "\n")
    return [chunk for chunk in re.split(r"\n\s*\n", text) if chunk.strip()]


def _original_id(parts: _Parts, envelope: Envelope) -> str:
    """The Message-ID of the message that came back, from the returned copy or headers,
    else the one the bounce says it answers."""
    for part in parts.returned:
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            ids = _IDS.findall(_header(inner[0], "message-id"))
            if ids:
                return ids[0]
    for part in parts.returned_headers:
        ids = _IDS.findall(_header(HeaderParser().parsestr(_text(part)), "message-id"))
        if ids:
            return ids[0]
    for part in parts.reports:
        found = re.search(r"(?im)^x-original-message-id:\s*(<[^<>\s]+>)", _text(part))
        if found:
            return found.group(1)
    for part in parts.plain[:2]:
        found = re.search(r"(?im)^message-id:\s*(<[^<>\s]+>)", _text(part))
        if found:
            return found.group(1)
    return envelope.answers[0] if envelope.answers else ""


#: Where the copy of the returned message begins in a plain-text bounce.
_COPY = re.compile(
    r"^(-{3,}.*(copy of|original message|returned message|headers).*|"
    r"--- Below this line is a copy of the message\.)\s*$",
    re.IGNORECASE | re.MULTILINE,
)


def _notification(text: str) -> str:
    """The server's own words: the text before the copy of the returned message."""
    text = text.replace("\r\n", "\n")
    copy = _COPY.search(text)
    return text[: copy.start()] if copy else text


def _failed_address(notice: str) -> str:
    angled = _ANGLED.search(notice)
    if angled:
        return angled.group(1).lower()
    # Exim: "The following address(es) failed:" then the address alone on a line.
    after = re.search(r"failed:\s*\n\s*(\S+@\S+)", notice)
    if after:
        return after.group(1).strip("<>").lower()
    bare = _ADDRESS.search(notice)
    return bare.group(0).lower() if bare else ""


def _diagnostic(notice: str, recipient: str) -> str:
    """The paragraph that names the failed address and the server's answer."""
    for paragraph in re.split(r"\n\s*\n", notice):
        lowered = paragraph.lower()
        if recipient in lowered and (_SMTP_CODE.search(paragraph) or _STATUS.search(paragraph)):
            return " ".join(paragraph.split())[:1000]
    for paragraph in re.split(r"\n\s*\n", notice):
        if _SMTP_CODE.search(paragraph) or _STATUS.search(paragraph):
            return " ".join(paragraph.split())[:1000]
    return " ".join(notice.split())[:1000]


# ---------------------------------------------------------------------------- calendars


@dataclass
class _Line:
    name: str
    params: dict[str, str]
    value: str


@dataclass
class _Calendar:
    #: The unfolded text (its VTIMEZONEs are read only when a COUNTER's time needs one).
    text: str = ""
    method: str = ""
    events: list[list[_Line]] = field(default_factory=list)

    def zone_text(self, tzid: str) -> str:
        """The VTIMEZONE sent for `tzid` ("" when none was)."""
        for zone in _VTIMEZONE.finditer(self.text):
            found = _TZID.search(zone.group(0))
            if found and found.group(1).strip().strip('"') == tzid:
                return zone.group(0) + "\n"
        return ""


def _calendar_answer(part: Message) -> Meaning | None:
    """The REPLY or COUNTER in a calendar part; None for any other method (a
    forwarded REQUEST or CANCEL) or a part with no calendar in it."""
    calendar = _read_calendar(_text(part))
    method = calendar.method
    if not method:  # some clients say it only in the MIME header
        header_method = part.get_param("method")
        method = header_method.strip().upper() if isinstance(header_method, str) else ""
    if method not in ("REPLY", "COUNTER"):
        return None
    if not calendar.events:
        return Unreadable(f"a calendar {method} without an event")
    return _answer("REPLY" if method == "REPLY" else "COUNTER", calendar)


_FOLD = re.compile(r"\r?\n[ \t]")
_METHOD = re.compile(r"^METHOD[;:](?:[^\n:]*:)?[ \t]*([A-Za-z-]*)", re.IGNORECASE | re.MULTILINE)
_VEVENT = re.compile(
    r"^BEGIN:VEVENT[ \t]*$(.*?)^END:VEVENT", re.IGNORECASE | re.MULTILINE | re.DOTALL
)
_VALARM = re.compile(r"^BEGIN:(\w+).*?^END:\1", re.IGNORECASE | re.MULTILINE | re.DOTALL)
#: Only what an answer has: nothing else in the event is parsed.
_WANTED = re.compile(
    r"^(?:UID|SEQUENCE|ATTENDEE|COMMENT|DTSTART|DTEND|DURATION)[;:][^\r\n]*",
    re.IGNORECASE | re.MULTILINE,
)
_VTIMEZONE = re.compile(
    r"^BEGIN:VTIMEZONE[ \t]*$.*?^END:VTIMEZONE[^\n]*", re.IGNORECASE | re.MULTILINE | re.DOTALL
)
_TZID = re.compile(r"^TZID[;:](?:[^\n:]*:)?([^\r\n]*)", re.IGNORECASE | re.MULTILINE)


def _read_calendar(text: str) -> _Calendar:
    """The METHOD and each VEVENT's answer properties of an iCalendar text (RFC 5545
    §3.1 unfolding; parameters with quoted values), by patterns over the whole text
    rather than line by line: this runs on every answer."""
    text = _FOLD.sub("", text.replace("\r\n", "\n"))
    calendar = _Calendar()
    method = _METHOD.search(text)
    calendar.method = method.group(1).upper() if method else ""
    for event in _VEVENT.finditer(text):
        body = _VALARM.sub("", event.group(1))  # a VALARM's properties are not the event's
        calendar.events.append([_content_line(m.group(0)) for m in _WANTED.finditer(body)])
    calendar.text = text
    return calendar


def _content_line(line: str) -> _Line:
    """NAME;PARAM=value;PARAM="quoted:value":VALUE."""
    length = len(line)
    index = 0
    while index < length and line[index] not in ";:":
        index += 1
    name = line[:index].strip().upper()
    params: dict[str, str] = {}
    while index < length and line[index] == ";":
        start = index + 1
        equals = line.find("=", start)
        if equals < 0:
            break
        key = line[start:equals].strip().upper()
        index = equals + 1
        if line[index : index + 1] == '"':
            close = line.find('"', index + 1)
            close = length if close < 0 else close
            value = line[index + 1 : close]
            index = close + 1
            while index < length and line[index] not in ";:":  # a list: "a","b"
                index += 1
        else:
            begin = index
            while index < length and line[index] not in ";:":
                index += 1
            value = line[begin:index]
        params.setdefault(key, value)
    return _Line(name, params, line[index + 1 :] if index < length else "")


def _unescape(value: str) -> str:
    """TEXT values (RFC 5545 §3.3.11): \\n, \\, \\; \\\\."""
    if "\\" not in value:
        return value
    return re.sub(
        r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value, flags=re.DOTALL
    )


def _mailto(value: str) -> str:
    value = value.strip().strip('"').strip()
    if value[:7].lower() == "mailto:":
        value = value[7:]
    return value.strip().lower() if "@" in value else ""


def _answer(method: Literal["REPLY", "COUNTER"], calendar: _Calendar) -> Meaning:
    event = calendar.events[0]
    properties: dict[str, _Line] = {}
    attendees: list[_Line] = []
    for line in event:
        if line.name == "ATTENDEE":
            attendees.append(line)
        else:
            properties.setdefault(line.name, line)
    uid = properties["UID"].value.strip() if "UID" in properties else ""
    if not uid:
        return Unreadable(f"a calendar {method} without UID")
    attendee = _answering(attendees)
    if attendee is None:
        return Unreadable(f"a calendar {method} without an ATTENDEE address")
    address = _mailto(attendee.value) or _mailto(attendee.params.get("EMAIL", ""))
    sequence_text = properties["SEQUENCE"].value.strip() if "SEQUENCE" in properties else ""
    sequence = int(sequence_text) if sequence_text.isdigit() and len(sequence_text) < 9 else 0
    comment = _unescape(properties["COMMENT"].value) if "COMMENT" in properties else ""
    if not comment.strip():
        comment = _unescape(attendee.params.get("X-RESPONSE-COMMENT", ""))
    delegated = attendee.params.get("DELEGATED-TO", "").split(",")[0]
    starts_at = ends_at = None
    if method == "COUNTER":
        try:
            starts_at = _moment(properties.get("DTSTART"), calendar)
            ends_at = _moment(properties.get("DTEND"), calendar)
            if ends_at is None and starts_at is not None and "DURATION" in properties:
                ends_at = starts_at + _duration(properties["DURATION"].value)
        except ValueError as error:
            return Unreadable(f"a calendar COUNTER with an unreadable time: {error}")
        if starts_at is None:
            return Unreadable("a calendar COUNTER without the proposed start (DTSTART)")
    return CalendarAnswer(
        method=method,
        uid=uid[:250],
        sequence=sequence,
        attendee=address,
        partstat=attendee.params.get("PARTSTAT", "NEEDS-ACTION").strip().upper(),
        delegated_to=_mailto(delegated),
        comment=comment.strip()[:MAX_TEXT],
        starts_at=starts_at,
        ends_at=ends_at,
    )


def _answering(attendees: list[_Line]) -> _Line | None:
    """The ATTENDEE whose answer this is: a REPLY has one; one that delegates also
    names the delegate (DELEGATED-FROM), who has not answered yet."""
    usable = [a for a in attendees if _mailto(a.value) or _mailto(a.params.get("EMAIL", ""))]
    for attendee in usable:
        if "DELEGATED-FROM" not in attendee.params:
            return attendee
    return usable[0] if usable else None


_DATE_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)")


def _moment(line: _Line | None, calendar: _Calendar) -> datetime | None:
    """A DTSTART/DTEND as a UTC-aware datetime: "Z", else its TZID through the
    calendar's own VTIMEZONE (Outlook's "SE Asia Standard Time"), an IANA name, or a
    Windows zone name."""
    if line is None:
        return None
    found = _DATE_TIME.fullmatch(line.value.strip())
    if found is None:
        raise ValueError(f"{line.name} {line.value.strip()[:40]!r} is not a date and time")
    year, month, day, hour, minute, second = (int(found.group(i)) for i in range(1, 7))
    naive = datetime(year, month, day, hour, minute, min(second, 59))
    if found.group(7):
        return naive.replace(tzinfo=UTC)
    tzid = line.params.get("TZID", "").strip().strip('"')
    if not tzid:
        raise ValueError(f"{line.name} has no time zone")
    return naive.replace(tzinfo=_zone(tzid, calendar.zone_text(tzid))).astimezone(UTC)


@functools.lru_cache(maxsize=64)
def _zone(tzid: str, definition: str) -> tzinfo:
    """The zone a TZID means: the VTIMEZONE sent with it (keyed by its whole text, so a
    sender's own definition never stands for another's), else by name."""
    sent = _sent_zone(definition) if definition else None
    if sent is not None:
        return sent
    for name in (tzid, tzid.lstrip("/"), WINDOWS_TO_OLSON.get(tzid, "")):
        if name:
            try:
                return ZoneInfo(name)
            except (ValueError, KeyError, OSError):
                continue
    raise ValueError(f"unknown time zone {tzid[:60]!r}")


def _sent_zone(definition: str) -> tzinfo | None:
    try:
        component = Timezone.from_ical(definition)
        if not isinstance(component, Timezone):
            return None
        zone: tzinfo = component.to_tz(lookup_tzid=False)
    except Exception:  # a broken VTIMEZONE: the name may still be known
        return None
    return zone


_DURATION = re.compile(r"([+-]?)P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")


def _duration(value: str) -> timedelta:
    found = _DURATION.fullmatch(value.strip().upper())
    if found is None:
        raise ValueError(f"DURATION {value.strip()[:40]!r}")
    weeks, days, hours, minutes, seconds = (int(found.group(i) or 0) for i in range(2, 7))
    span = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    return -span if found.group(1) == "-" else span


# ---------------------------------------------------------------------------- plain text

#: Where the quoted original begins: the attribution line(s) of Gmail, Apple,
#: Thunderbird (English and Vietnamese), Outlook's separators and header block.
_QUOTE_START = re.compile(
    r"^[ \t]*(?:"
    r"On\b[^\n]{0,300}?(?:\n[^\n]{0,300}?)?\bwrote:[ \t]*$"
    r"|Vào\b[^\n]{0,300}?(?:\n[^\n]{0,300}?)?\bđã viết:[ \t]*$"
    r"|-{2,}\s*(?:Original Message|Thư gốc|Tin nhắn gốc|Forwarded message)\s*-{2,}"
    r"|_{20,}[ \t]*$"
    r"|(?:From|Từ|Người gửi):[^\n]*\n(?:[^\n]*\n){0,3}?[ \t]*(?:Sent|Date|Đã gửi|Ngày):"
    r")",
    re.IGNORECASE | re.MULTILINE,
)


def cut_quotes(text: str) -> str:
    """The reply's own words: no quoted original, no ">" lines, at most MAX_TEXT."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")[: MAX_TEXT * 4]
    start = _QUOTE_START.search(text)
    if start:
        text = text[: start.start()]
    lines = [line.rstrip() for line in text.split("\n") if not line.lstrip().startswith(">")]
    # Composed: Windows-1258 and some phones send Vietnamese as letters + combining marks.
    return unicodedata.normalize("NFC", "\n".join(lines).strip())[:MAX_TEXT]


_HTML_DROP = re.compile(
    r"<(head|style|script|title)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
#: Where a client puts the quoted original in HTML (Gmail, Outlook, Apple, Thunderbird).
_HTML_QUOTE = re.compile(
    r"<blockquote\b|<div[^>]*\b(?:class=\"?gmail_quote|id=\"?(?:divRplyFwdMsg|appendonsend)"
    r"|class=\"?moz-cite-prefix)",
    re.IGNORECASE,
)
_HTML_BREAK = re.compile(r"<(?:br|/p|/div|/tr|/li|/h\d|hr|p|div|li|tr)\b[^>]*>", re.IGNORECASE)
_HTML_TAG = re.compile(r"<[^>]*>")


def html_text(markup: str) -> str:
    """The text of an HTML reply, its quoted original left out."""
    markup = _HTML_DROP.sub("", markup[: MAX_TEXT * 10])
    quote = _HTML_QUOTE.search(markup)
    if quote:
        markup = markup[: quote.start()]
    markup = " ".join(markup.split())
    text = html.unescape(_HTML_TAG.sub("", _HTML_BREAK.sub("\n", markup)))
    lines = [" ".join(line.split()) for line in text.replace("\xa0", " ").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
