"""The lean reader of the common calendar answers (notify.inbound.fast) gives the full
reader's Mail or None, never another answer: on every sample, on the shapes the clients
vary in, and on generated mutations of them; and the pieces rewritten for speed (the
calendar patterns, the UTF-8 encoded words, the common date) read what the patterns
and the stdlib they stand in for read."""

from __future__ import annotations

import base64
import quopri
import re
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notify.inbound import answers, envelope, fast, mime, parse
from notify.inbound.parsed import CalendarAnswer, Mail
from tests.notify.inbound.samples import names, sample

#: The samples that are calendar answers in a common shape: read by the lean reader.
COMMON = [
    "apple_tentative",
    "delegated_reply",
    "google_decline",
    "header_method_only",
    "outlook_accept",
    "outlook_counter",
    "thunderbird_accept",
]
VALUES = {
    "uid": "5f0c7a2e-1b3d-4e5f-8a9b-0c1d2e3f4a5b@giaoban",
    "sequence": "12",
    "attendee": "Xa.TanHoa@UBND-Xa.example.vn",
    "message_id": "ABC.123+x@outlook.example",
}
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def lean_or_none(raw: bytes) -> Mail | None:
    """The lean reader's Mail, checked to be the full reader's (or None)."""
    full = parse.read_in_full(raw)
    lean = fast.read_answer(raw)
    assert lean is None or lean == full, (lean, full)
    assert parse.understand(raw) == full
    return lean


# ---------------------------------------------------------------------- the samples


@pytest.mark.parametrize("name", names())
def test_every_sample_reads_the_same_and_only_answers_take_the_lean_path(name: str) -> None:
    for values in ({}, VALUES):
        lean = lean_or_none(sample(name, **values))
        assert (lean is not None) == (name in COMMON), name
        if lean is not None:
            assert isinstance(lean.meaning, CalendarAnswer)


@pytest.mark.parametrize("name", COMMON)
def test_line_feeds_only_and_header_case_change_nothing(name: str) -> None:
    raw = sample(name, **VALUES)
    lf = raw.replace(b"\r\n", b"\n")
    upper = re.sub(rb"(?m)^([A-Za-z-]+):", lambda m: m.group(1).upper() + b":", raw)
    lower = re.sub(rb"(?m)^([A-Za-z-]+):", lambda m: m.group(1).lower() + b":", raw)
    mixed = raw.replace(b"\r\n", b"\n", 3)  # a header block with both line ends
    for variant in (lf, upper, lower, mixed):
        assert lean_or_none(variant) == lean_or_none(raw)


@pytest.mark.parametrize("name", COMMON)
def test_folded_headers_are_unfolded_as_the_stdlib_does(name: str) -> None:
    raw = sample(name, **VALUES)
    head, blank, body = raw.partition(b"\r\n\r\n")
    folded = re.sub(rb"(?m)^((?:Subject|From|To|Date|Content-Type): \S+) ", rb"\1\r\n\t ", head)
    assert folded != head
    assert lean_or_none(folded + blank + body) == lean_or_none(raw)


# ---------------------------------------------------------------------- shapes built here

CALENDAR = """BEGIN:VCALENDAR
PRODID:-//test//EN
VERSION:2.0
METHOD:REPLY
BEGIN:VEVENT
UID:{uid}
SEQUENCE:4
DTSTART:20300419T010000Z
ATTENDEE;CN="Văn phòng: UBND xã";PARTSTAT=ACCEPTED:mailto:vanphong@ubnd-xa.example.vn
COMMENT:Xã sẽ tham dự\\, đúng giờ.
BEGIN:VALARM
ACTION:DISPLAY
ATTENDEE:mailto:alarm@example.vn
END:VALARM
END:VEVENT
END:VCALENDAR
"""


def encoded(text: str, encoding: str, charset: str) -> bytes:
    known = charset != "x-unknown"  # read as UTF-8 by both readers
    data = text.replace("\n", "\r\n").encode(charset if known else "utf-8")
    if encoding == "base64":
        return base64.encodebytes(data).replace(b"\n", b"\r\n")
    if encoding == "quoted-printable":
        return quopri.encodestring(data).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return data


def mail(
    *,
    encoding: str = "base64",
    charset: str = "utf-8",
    content_type: str = 'text/calendar; charset="{charset}"; method=REPLY',
    subject: str = "=?utf-8?B?QWNjZXB0ZWQ6IEjhu5lp?= =?utf-8?q?_ngh=E1=BB=8B?=",
    boundary: str = '"=_b1"',
    nested: bool = False,
    calendar: str = CALENDAR,
) -> bytes:
    """A calendar answer as a small client writes it, with the given variations."""
    name = boundary.strip('"')
    part = (
        f"Content-Type: {content_type.format(charset=charset)}\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode() + encoded(calendar.format(uid=VALUES["uid"]), encoding, charset)
    text = b"Content-Type: text/plain; charset=utf-8\r\n\r\nX\xc3\xa3 tham d\xe1\xbb\xb1.\r\n"
    if nested:
        inner = b"--inner\r\n" + text + b"--inner\r\n" + part + b"\r\n--inner--\r\n"
        parts = b"Content-Type: multipart/alternative; boundary=inner\r\n\r\n" + inner
    else:
        parts = text + f"--{name}\r\n".encode() + part
    return (
        (
            "From: =?UTF-8?B?VsSDbiBwaMOybmc=?= <VanPhong@UBND-Xa.example.vn>\r\n"
            "To: Giao ban <giaoban@inbound.example.gov.vn>\r\n"
            f"Subject: {subject}\r\n"
            "Date: Tue, 16 Apr 2030 09:15:33 +0700 (ICT)\r\n"
            "Message-ID: <built@example.net>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n"
            f"This is a multi-part message in MIME format.\r\n--{name}\r\n"
        ).encode()
        + parts
        + f"\r\n--{name}--\r\nepilogue\r\n".encode()
    )


@pytest.mark.parametrize("encoding", ["base64", "quoted-printable", "7bit", "8bit", "binary"])
@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "x-unknown"])
@pytest.mark.parametrize("nested", [False, True])
def test_each_transfer_encoding_and_charset_of_the_calendar(
    encoding: str, charset: str, nested: bool
) -> None:
    lean = lean_or_none(mail(encoding=encoding, charset=charset, nested=nested))
    assert lean is not None
    assert isinstance(lean.meaning, CalendarAnswer)
    assert lean.meaning.attendee == "vanphong@ubnd-xa.example.vn"
    assert lean.meaning.comment == "Xã sẽ tham dự, đúng giờ."
    assert lean.envelope.subject == "Accepted: Hội nghị"


@pytest.mark.parametrize(
    "subject",
    [
        "=?utf-8?B?SOG7mWkgbmdo4buLIEdpYW8gYmFu?=",
        "Re: =?UTF-8?Q?Tr=E1=BA=A3_l=E1=BB=9Di?= (giaoban@x.vn)",
        # one character split between two words: joined as bytes, then decoded
        "=?utf-8?B?SOG7?= =?utf-8?B?mWkgbmdo4buL?=",
        "=?utf-8?B?SOG7?= x =?utf-8?B?mWkgbmdo4buL?=",
        "=?iso-8859-1?q?caf=E9?= =?utf-8?b?w6A=?=",
        "=?utf-8?B?!!?=",
        "=?utf-8?b?SOG7mWk?=",
        "=?utf-8*vi?b?SOG7mWk=?=",
        "Hội nghị =?utf-8?b?SOG7mWk=?=",
        "=?utf-8?q?a?b?= =?utf-8?q?=?=",
    ],
)
def test_subjects_in_encoded_words_read_as_the_stdlib_reads_them(subject: str) -> None:
    raw = mail(subject=subject)
    assert lean_or_none(raw) is not None or not subject.isascii()


@pytest.mark.parametrize(
    "content_type",
    [
        "text/calendar; method=REPLY; charset={charset}",
        "Text/Calendar;\r\n\tcharset={charset};\r\n\tname=invite.ics",
        "application/ics; name=\"invite.ics\"; charset='{charset}'",
        "text/calendar; charset = {charset} ; method = REQUEST",
        'text/calendar; charset="{charset}"; method="REPLY"; method=COUNTER',
        "text/calendar; charset*=utf-8''{charset}",
        'text/calendar; charset="{charset}\\"x"',
        "text/calendar; charset={charset}; ;",
        "text/calendar",
        "calendar",
    ],
)
def test_content_type_parameters_as_get_param_reads_them(content_type: str) -> None:
    lean_or_none(mail(content_type=content_type, encoding="8bit"))


@pytest.mark.parametrize(
    "boundary", ['"=_b1"', "=_b1", '"=_b1 "', '"a b:c?d"', '""', "b1\\x", '"<b1>"']
)
def test_boundaries_as_get_boundary_reads_them(boundary: str) -> None:
    lean_or_none(mail(boundary=boundary))


STRUCTURES = {
    "two boundary lines in a row": lambda raw: raw.replace(
        b"--=_b1\r\n", b"--=_b1\r\n--=_b1\r\n", 1
    ),
    "no closing boundary": lambda raw: raw.replace(b"--=_b1--", b"--=_b2--"),
    "closing boundary first": lambda raw: raw.replace(
        b"format.\r\n--=_b1\r\n", b"\r\n--=_b1--\r\n"
    ),
    "boundary with blanks after": lambda raw: raw.replace(b"--=_b1\r\n", b"--=_b1 \t\r\n"),
    "boundary with more after": lambda raw: raw.replace(b"--=_b1\r\n", b"--=_b1x\r\n", 1),
    "a part without its blank line": lambda raw: raw.replace(b"base64\r\n\r\n", b"base64\r\n"),
    "a part with no headers": lambda raw: raw.replace(
        b"Content-Type: text/plain; charset=utf-8\r\n", b""
    ),
    "a header line that is none": lambda raw: raw.replace(b"MIME-Version", b"MIME Version"),
    "a first line that continues": lambda raw: b" x\r\n" + raw,
    "a unix From line": lambda raw: b"From someone Tue Apr 16\r\n" + raw,
    "a lone CR": lambda raw: raw.replace(b"tham d", b"tham\rd"),
    "a null sender": lambda raw: b"Return-Path: <>\r\n" + raw,
    "failed recipients": lambda raw: b"X-Failed-Recipients: a@b.vn\r\n" + raw,
    "a daemon": lambda raw: raw.replace(b"<VanPhong@", b"<MAILER-DAEMON@"),
    "an attachment text": lambda raw: raw.replace(
        b"text/plain; charset=utf-8\r\n",
        b"text/plain; name=a.ics\r\nContent-Disposition: attachment\r\n",
    ),
    "a report": lambda raw: raw.replace(b"multipart/mixed", b"multipart/report"),
    "a digest": lambda raw: raw.replace(b"multipart/mixed", b"multipart/digest"),
    "an image": lambda raw: raw.replace(b"text/plain", b"image/png"),
    "a non-ASCII content type": lambda raw: raw.replace(b"charset=utf-8", b"charset=\xc3\xa9"),
    "uuencoded": lambda raw: raw.replace(b"Encoding: base64", b"Encoding: x-uuencode"),
    "base64 with trailing blank": lambda raw: raw.replace(
        b"Encoding: base64", b"Encoding: base64 "
    ),
    "bad base64": lambda raw: raw.replace(b"QkVHSU46", b"QkVH!U46"),
    "base64 unpadded": lambda raw: re.sub(rb"=+\r\n\r\n--=_b1--", b"\r\n\r\n--=_b1--", raw),
    "no calendar method": lambda raw: raw,
}


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_unusual_structures_are_read_the_same_or_left_to_the_full_reader(name: str) -> None:
    lean_or_none(STRUCTURES[name](mail()))
    lean_or_none(STRUCTURES[name](mail(nested=True)))
    lean_or_none(STRUCTURES[name](mail(encoding="8bit")))


# ---------------------------------------------------------------------- mutations

SNIPPETS = [
    b"\r",
    b"\n",
    b"\r\n",
    b" ",
    b"\t",
    b":",
    b";",
    b"=",
    b'"',
    b"-",
    b"--",
    b"\\",
    b"*",
    b"?=",
    b"=?",
    b"\xc3",
    b"\xe1\xbb\x9d",
    b"\x00",
    b"From x\r\n",
    b"X-A: b\r\n",
    b" folded\r\n",
    b"Content-Disposition: attachment\r\n",
    b"Content-Type: text/calendar; method=REPLY\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Return-Path: <>\r\n",
    b"BEGIN:VEVENT\r\n",
    b"END:VEVENT\r\n",
    b"METHOD:COUNTER\r\n",
    b"=?utf-8?B?4bq/?=",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(
        draw(
            st.sampled_from(
                [sample(name) for name in COMMON]
                + [mail(), mail(nested=True), mail(encoding="8bit")]
            )
        )
    )
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(raw)))
        action = draw(st.sampled_from(["insert", "replace", "delete", "case", "line"]))
        if action == "insert":
            raw[at:at] = draw(st.sampled_from(SNIPPETS))
        elif action == "replace" and at < len(raw):
            raw[at : at + 1] = draw(st.sampled_from(SNIPPETS))
        elif action == "delete":
            del raw[at : at + draw(st.integers(1, 40))]
        elif action == "case":
            raw[at : at + 20] = bytes(raw[at : at + 20]).swapcase()
        else:  # a whole line repeated (a boundary line, a header)
            start = raw.rfind(b"\n", 0, at) + 1
            end = raw.find(b"\n", at)
            line = bytes(raw[start : len(raw) if end < 0 else end + 1])
            raw[start:start] = line
    return bytes(raw)


@PROPERTY
@given(mutated())
def test_mutated_answers_are_read_the_same_or_left_to_the_full_reader(raw: bytes) -> None:
    lean_or_none(raw)


# ---------------------------------------------------------------------- the pieces
# The calendar patterns as they were before their line-feed forms (the reference).

# answers.py keeps these as its general patterns; its line-feed forms are what is checked.
from notify.inbound.answers import _FOLD, _METHOD, _VALARM, _VEVENT, _WANTED  # noqa: E402


def reference_calendar(text: str) -> tuple[str, str, list[list[tuple[str, dict[str, str], str]]]]:
    text = _FOLD.sub("", text.replace("\r\n", "\n"))
    method = _METHOD.search(text)
    events = [
        [reference_line(m.group(0)) for m in _WANTED.finditer(_VALARM.sub("", event.group(1)))]
        for event in _VEVENT.finditer(text)
    ]
    return text, method.group(1).upper() if method else "", events


def reference_line(line: str) -> tuple[str, dict[str, str], str]:
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
            while index < length and line[index] not in ";:":
                index += 1
        else:
            begin = index
            while index < length and line[index] not in ";:":
                index += 1
            value = line[begin:index]
        params.setdefault(key, value)
    return name, params, line[index + 1 :] if index < length else ""


CALENDAR_LINES = [
    "BEGIN:VCALENDAR",
    "METHOD:REPLY",
    "method;x=y:counter",
    "METHOD:",
    "BEGIN:VEVENT",
    "BEGIN:VEVENT \t",
    "begin:vevent",
    "BEGİN:VEVENT",  # a dotted capital I: IGNORECASE matches it as i
    "END:VEVENT",
    "END:VEVENTX",
    "eNd:vEvEnT",
    "BEGIN:VALARM",
    "END:VALARM",
    "BEGIN:X-ſUB",  # a long s: IGNORECASE matches it as s
    "END:X-SUB",
    "UID:x@y",
    "uıd:dotless",
    "ſEQUENCE:2",
    "SEQUENCE:1",
    'ATTENDEE;PARTSTAT=ACCEPTED;CN="a:b;c":mailto:a@b.vn',
    'ATTENDEE;X="unterminated:mailto:a@b.vn',
    'ATTENDEE;A=1,"b"x;C:d;E=f',
    "ATTENDEE;NOEQUALS;B=c:mailto:x@y",
    "ATTENDEE:;=;:",
    "DTSTART;TZID=Kelvin:20300101T000000",
    "COMMENT:a\\nb\\, c",
    " folded on",
    "\tfolded on",
    "",
    "  ",
    "X-OTHER:1",
]


@PROPERTY
@given(
    st.lists(st.sampled_from(CALENDAR_LINES), max_size=25),
    st.lists(st.sampled_from(["\r\n", "\n", "\r", "\r\r\n", "\n\n"]), min_size=1, max_size=3),
)
def test_the_calendar_patterns_read_as_before(lines: list[str], ends: list[str]) -> None:
    text = "".join(line + ends[i % len(ends)] for i, line in enumerate(lines))
    calendar = answers._read_calendar(text)
    found = [
        [(line.name, dict(line.params), line.value) for line in event] for event in calendar.events
    ]
    assert (calendar.text, calendar.method, found) == reference_calendar(text)


@PROPERTY
@given(st.text(alphabet=';:="ab, \t\\', max_size=30))
def test_a_content_line_reads_as_before(tail: str) -> None:
    for line in ("ATTENDEE" + tail, tail):
        found = answers._content_line(line)
        assert (found.name, dict(found.params), found.value) == reference_line(line)


def reference_decoded(value: str) -> str:
    value = " ".join(value.split())
    try:
        return " ".join(str(make_header(decode_header(value))).split())
    except Exception:
        return value


WORDS = st.one_of(
    st.text(alphabet="Hội nghị giao ban xã ", min_size=1, max_size=12).map(
        lambda text: "=?utf-8?B?" + base64.b64encode(text.encode()).decode() + "?="
    ),
    st.text(alphabet="Hội nghị_=? ", min_size=1, max_size=12).map(
        lambda text: "=?UTF-8?q?" + "".join(f"={byte:02X}" for byte in text.encode()) + "?="
    ),
    st.binary(min_size=1, max_size=4).map(
        lambda data: "=?utf-8?b?" + base64.b64encode(data).decode().rstrip("=") + "?="
    ),
    st.sampled_from(
        ["Re:", "(x@y.vn)", "a", "=?", "?=", "=?utf-8?x?a?=", "\\", "()", "=?utf-8?q?a?b?="]
    ),
)


@PROPERTY
@given(st.lists(WORDS, min_size=1, max_size=5))
def test_utf8_encoded_words_decode_as_the_stdlib_decodes_them(words: list[str]) -> None:
    value = " ".join(words)
    assert mime._decoded(value) == reference_decoded(value)


def reference_date(value: str) -> datetime | None | str:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return "overflow"


@PROPERTY
@given(
    st.sampled_from(["", "Tue, ", "Xyz, ", "tue, "]),
    st.integers(0, 39),
    st.sampled_from(["Apr", "apr", "DEC", "Jan", "Foo", "May"]),
    st.sampled_from(["2030", "0030", "1969", "9999", "1000"]),
    st.sampled_from(["09:15:33", "00:00:00", "23:59:60", "24:00:00", "9:15:33"]),
    st.sampled_from(["+0700", "-0000", "+0000", "-0130", "+2400", "+0790", "-2359", "GMT"]),
    st.sampled_from(["", " (ICT)", " (Pacific Time)", " ()"]),
)
def test_common_dates_read_as_the_stdlib_reads_them(
    weekday: str, day: int, month: str, year: str, time: str, zone: str, comment: str
) -> None:
    value = f"{weekday}{day} {month} {year} {time} {zone}{comment}"
    try:
        found: datetime | None | str = envelope._date(value)
    except OverflowError:
        found = "overflow"
    assert found == reference_date(value)
