"""Reading inbound e-mail: every client's answer, every server's bounce, people's
replies, and whatever else lands in a mailbox — never an exception."""

from __future__ import annotations

import base64
import random
import unicodedata
from datetime import UTC, datetime

import pytest

from notify.inbound.parse import understand
from notify.inbound.parsed import Bounce, CalendarAnswer, Mail, PlainReply, Unreadable
from tests.notify.inbound.samples import DEFAULTS, names, sample

UID = "5f0c7a2e-1b3d-4e5f-8a9b-0c1d2e3f4a5b@giaoban"
ATTENDEE = "vanphong@ubnd-xa.example.vn"
ORIGINAL = "<original-1@giaoban.example.gov.vn>"


def answer_of(raw: bytes) -> CalendarAnswer:
    meaning = understand(raw).meaning
    assert isinstance(meaning, CalendarAnswer), meaning
    return meaning


def bounce_of(raw: bytes) -> Bounce:
    meaning = understand(raw).meaning
    assert isinstance(meaning, Bounce), meaning
    return meaning


def reply_of(raw: bytes) -> str:
    meaning = understand(raw).meaning
    assert isinstance(meaning, PlainReply), meaning
    return meaning.text


# ------------------------------------------------------------------ calendar answers


@pytest.mark.parametrize(
    ("name", "partstat", "comment"),
    [
        ("outlook_accept", "ACCEPTED", "Xã sẽ tham dự đúng giờ."),
        ("google_decline", "DECLINED", "Xã trùng lịch tiếp dân, xin phép vắng mặt."),
        ("apple_tentative", "TENTATIVE", ""),
        ("thunderbird_accept", "ACCEPTED", ""),
        ("header_method_only", "ACCEPTED", ""),
        ("delegated_reply", "DELEGATED", "Phó chủ tịch xã dự thay."),
    ],
)
def test_each_clients_reply_is_read_with_its_uid_sequence_attendee_and_answer(
    name: str, partstat: str, comment: str
) -> None:
    answer = answer_of(sample(name, uid=UID, sequence="3", attendee=ATTENDEE))
    assert answer.method == "REPLY"
    assert answer.uid == UID
    assert answer.sequence == 3
    assert answer.attendee == ATTENDEE
    assert answer.partstat == partstat
    assert answer.comment == comment
    assert answer.starts_at is None and answer.ends_at is None


def test_the_attendee_address_is_lower_case_without_mailto() -> None:
    for name in ("outlook_accept", "header_method_only", "apple_tentative"):
        answer = answer_of(sample(name, attendee="VanPhong@UBND-Xa.Example.VN"))
        assert answer.attendee == "vanphong@ubnd-xa.example.vn"


def test_a_delegation_names_the_delegate_not_the_delegates_own_line() -> None:
    answer = answer_of(
        sample("delegated_reply", attendee=ATTENDEE, delegated_to="PhoChuTich@ubnd-xa.example.vn")
    )
    assert answer.attendee == ATTENDEE
    assert answer.delegated_to == "phochutich@ubnd-xa.example.vn"


def test_outlook_counter_proposes_a_time_in_its_windows_zone_read_as_utc() -> None:
    answer = answer_of(sample("outlook_counter", uid=UID, sequence="1"))
    assert answer.method == "COUNTER"
    assert (answer.uid, answer.sequence, answer.partstat) == (UID, 1, "TENTATIVE")
    # 14:00–17:30 in "SE Asia Standard Time" (+07:00, its own VTIMEZONE).
    assert answer.starts_at == datetime(2030, 4, 19, 7, 0, tzinfo=UTC)
    assert answer.ends_at == datetime(2030, 4, 19, 10, 30, tzinfo=UTC)
    assert answer.comment == "Xin lùi sang buổi chiều vì buổi sáng xã có đoàn kiểm tra."


def calendar_mail(
    ics: str,
    *,
    content_type: str = 'text/calendar; charset="utf-8"; method=COUNTER',
    encoding: str = "8bit",
) -> bytes:
    """A minimal answer around a calendar text (CRLF), as a small client sends it."""
    body = ics.strip().replace("\n", "\r\n") + "\r\n"
    if encoding == "base64":
        body = base64.encodebytes(body.encode()).decode().replace("\n", "\r\n")
    return (
        "From: Xa <vanphong@ubnd-xa.example.vn>\r\n"
        "To: giaoban@inbound.example.gov.vn\r\n"
        "Subject: Proposal\r\n"
        "Message-ID: <calendar-mail@example.net>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n"
        f"--b1\r\nContent-Type: {content_type}\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n{body}--b1--\r\n"
    ).encode()


def counter(start: str, end: str, zones: str = "") -> str:
    return f"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
METHOD:COUNTER
{zones}BEGIN:VEVENT
UID:{UID}
SEQUENCE:2
DTSTAMP:20300416T030512Z
{start}
{end}
ATTENDEE;PARTSTAT=ACCEPTED:mailto:{ATTENDEE}
END:VEVENT
END:VCALENDAR
"""


PACIFIC = """BEGIN:VTIMEZONE
TZID:Pacific Standard Time
BEGIN:STANDARD
DTSTART:16010101T020000
TZOFFSETFROM:-0700
TZOFFSETTO:-0800
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:-0800
TZOFFSETTO:-0700
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
"""


@pytest.mark.parametrize(
    ("start", "end", "zones", "expected"),
    [
        # UTC
        ("DTSTART:20300419T070000Z", "DTEND:20300419T103000Z", "", (7, 0, 10, 30)),
        # an IANA name, no VTIMEZONE sent
        (
            "DTSTART;TZID=Asia/Ho_Chi_Minh:20300419T140000",
            "DTEND;TZID=Asia/Ho_Chi_Minh:20300419T173000",
            "",
            (7, 0, 10, 30),
        ),
        # a Windows name, no VTIMEZONE sent
        (
            'DTSTART;TZID="SE Asia Standard Time":20300419T140000',
            'DTEND;TZID="SE Asia Standard Time":20300419T173000',
            "",
            (7, 0, 10, 30),
        ),
        # a Windows name with daylight saving rules in its own VTIMEZONE (April: -07:00)
        (
            "DTSTART;TZID=Pacific Standard Time:20300419T000000",
            "DTEND;TZID=Pacific Standard Time:20300419T033000",
            PACIFIC,
            (7, 0, 10, 30),
        ),
        # DURATION instead of DTEND
        ("DTSTART:20300419T070000Z", "DURATION:PT3H30M", "", (7, 0, 10, 30)),
    ],
)
def test_a_counters_proposed_time_is_utc_whatever_the_zone_form(
    start: str, end: str, zones: str, expected: tuple[int, int, int, int]
) -> None:
    answer = answer_of(calendar_mail(counter(start, end, zones)))
    assert answer.method == "COUNTER" and answer.sequence == 2
    assert answer.starts_at == datetime(2030, 4, 19, expected[0], expected[1], tzinfo=UTC)
    assert answer.ends_at == datetime(2030, 4, 19, expected[2], expected[3], tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        ("DTSTART;TZID=Atlantis/Capital:20300419T140000", "unknown time zone"),
        ("DTSTART:20300419T140000", "no time zone"),
        ("DTSTART;VALUE=DATE:20300419", "not a date and time"),
        ("SUMMARY:no start", "without the proposed start"),
    ],
)
def test_a_counter_without_a_readable_time_is_unreadable_with_the_reason(
    start: str, reason: str
) -> None:
    meaning = understand(calendar_mail(counter(start, "DTEND:20300419T103000Z"))).meaning
    assert isinstance(meaning, Unreadable)
    assert reason in meaning.reason


def test_a_base64_ics_attachment_alone_is_read() -> None:
    ics = counter("DTSTART:20300419T070000Z", "DTEND:20300419T103000Z").replace(
        "METHOD:COUNTER", "METHOD:REPLY"
    )
    raw = calendar_mail(
        ics, content_type='application/octet-stream; name="invite.ics"', encoding="base64"
    )
    answer = answer_of(raw)
    assert (answer.method, answer.partstat, answer.attendee) == ("REPLY", "ACCEPTED", ATTENDEE)


def test_sequence_missing_is_zero_and_partstat_is_upper_case() -> None:
    ics = f"""BEGIN:VCALENDAR
METHOD:REPLY
BEGIN:VEVENT
UID:{UID}
ATTENDEE;PARTSTAT=accepted;EMAIL={ATTENDEE}:urn:uuid:7d1e
BEGIN:VALARM
ACTION:DISPLAY
SEQUENCE:9
END:VALARM
END:VEVENT
END:VCALENDAR
"""
    answer = answer_of(calendar_mail(ics, content_type="text/calendar"))
    assert (answer.sequence, answer.partstat, answer.attendee) == (0, "ACCEPTED", ATTENDEE)


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL", "PUBLISH"])
def test_our_own_invitation_forwarded_back_is_not_an_answer(method: str) -> None:
    ics = counter("DTSTART:20300419T070000Z", "DTEND:20300419T103000Z").replace(
        "METHOD:COUNTER", f"METHOD:{method}"
    )
    raw = calendar_mail(ics, content_type=f"text/calendar; method={method}")
    assert reply_of(raw) == "See attached."


def test_a_reply_without_uid_or_attendee_is_unreadable() -> None:
    no_uid = f"BEGIN:VCALENDAR\nMETHOD:REPLY\nBEGIN:VEVENT\nATTENDEE:mailto:{ATTENDEE}\n"
    no_uid += "END:VEVENT\nEND:VCALENDAR\n"
    meaning = understand(calendar_mail(no_uid, content_type="text/calendar")).meaning
    assert isinstance(meaning, Unreadable) and "UID" in meaning.reason
    no_one = f"BEGIN:VCALENDAR\nMETHOD:REPLY\nBEGIN:VEVENT\nUID:{UID}\nEND:VEVENT\nEND:VCALENDAR\n"
    meaning = understand(calendar_mail(no_one, content_type="text/calendar")).meaning
    assert isinstance(meaning, Unreadable) and "ATTENDEE" in meaning.reason


# ------------------------------------------------------------------ envelope


def test_the_envelope_of_a_reply() -> None:
    envelope = understand(sample("outlook_accept", message_id="abc.123@outlook.example")).envelope
    assert envelope.key == "<abc.123@outlook.example>"
    assert envelope.sender == ATTENDEE
    assert envelope.subject == "Accepted: Hội nghị Giao ban trực tuyến quý II"
    assert envelope.date == datetime(2030, 4, 16, 2, 14, 31, tzinfo=UTC)
    assert envelope.answers == (ORIGINAL,)
    assert envelope.delivered_to == DEFAULTS["organizer"]


def test_answers_are_in_reply_to_then_references_newest_first() -> None:
    raw = (
        b"From: A <a@example.vn>\r\nMessage-ID: <m@x>\r\nIn-Reply-To: <c@x>\r\n"
        b"References: <a@x>\r\n <b@x> <c@x>\r\nDate: Tue, 16 Apr 2030 09:15:33 +0700\r\n"
        b"Subject: =?utf-8?q?Tr=E1=BA=A3_l=E1=BB=9Di?=\r\n\r\nok\r\n"
    )
    envelope = understand(raw).envelope
    assert envelope.answers == ("<c@x>", "<b@x>", "<a@x>")
    assert envelope.subject == "Trả lời"
    assert envelope.date == datetime(2030, 4, 16, 2, 15, 33, tzinfo=UTC)


def test_without_message_id_the_key_is_a_digest_of_the_bytes() -> None:
    raw = b"From: a@example.vn\r\nSubject: x\r\n\r\nhello\r\n"
    first, second = understand(raw).envelope, understand(raw).envelope
    assert first.key.startswith("sha256:") and len(first.key) == 7 + 64
    assert first.key == second.key
    assert understand(raw + b"!").envelope.key != first.key


def test_delivered_to_prefers_delivered_to_then_x_original_to_then_to() -> None:
    base = b"From: a@example.vn\r\nTo: Giao ban <GiaoBan@Example.VN>\r\n"
    assert understand(base + b"\r\nx").envelope.delivered_to == "giaoban@example.vn"
    raw = base + b"X-Original-To: g+b7-1@example.vn\r\n\r\nx"
    assert understand(raw).envelope.delivered_to == "g+b7-1@example.vn"
    raw = b"Delivered-To: g+b8-2@example.vn\r\n" + raw
    assert understand(raw).envelope.delivered_to == "g+b8-2@example.vn"


def test_a_date_without_zone_or_unreadable() -> None:
    assert understand(b"Date: 16 Apr 2030 02:22:13 -0000\r\n\r\nx").envelope.date == datetime(
        2030, 4, 16, 2, 22, 13, tzinfo=UTC
    )
    assert understand(b"Date: yesterday-ish\r\n\r\nx").envelope.date is None


# ------------------------------------------------------------------ bounces


@pytest.mark.parametrize(
    ("name", "status", "permanent", "diagnostic"),
    [
        ("dsn_5_1_1", "5.1.1", True, "User unknown in virtual mailbox table"),
        ("dsn_4_2_2", "4.2.2", False, "Mailbox full"),
        ("postfix_plain", "5.7.1", True, "Relay access denied"),
        ("exim_failed", "5.1.1", True, "User unknown in local recipient table"),
        ("qmail", "5.1.1", True, "User unknown"),
        ("o365_ndr", "5.1.10", True, "RESOLVER.ADR.RecipientNotFound"),
        ("gmail_bounce", "5.1.1", True, "does not exist"),
    ],
)
def test_each_servers_bounce_names_the_address_the_status_and_our_message(
    name: str, status: str, permanent: bool, diagnostic: str
) -> None:
    raw = sample(name, attendee="Xa.TanHoa@UBND-Xa.example.vn", in_reply_to="q1w2@giaoban.vn")
    bounce = bounce_of(raw)
    assert bounce.recipient == "xa.tanhoa@ubnd-xa.example.vn"
    assert bounce.status == status
    assert bounce.permanent is permanent
    assert diagnostic in bounce.diagnostic
    assert bounce.original_message_id == "<q1w2@giaoban.vn>"
    # The VERP address needs the secret: decoded by the caller from delivered_to.
    assert bounce.outbox_id is None
    envelope = understand(raw).envelope
    assert envelope.delivered_to == DEFAULTS["return_path"]


def test_the_invitation_inside_a_bounce_is_not_read_as_an_answer() -> None:
    # The returned message is ours, with its calendar; the meaning is the bounce.
    invitation = answer_of(sample("thunderbird_accept")).uid
    bounce = sample("dsn_5_1_1").replace(
        b"Content-Type: multipart/alternative;",
        b'Content-Type: multipart/mixed; boundary="c"\r\n\r\n--c\r\n'
        b"Content-Type: text/calendar; method=REPLY\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n"
        b"BEGIN:VEVENT\r\nUID:" + invitation.encode() + b"\r\nATTENDEE:mailto:x@y.vn\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n--c--\r\nX-Old: multipart/alternative;",
    )
    assert isinstance(understand(bounce).meaning, Bounce)


def test_an_out_of_office_reply_from_a_null_sender_is_a_plain_reply() -> None:
    raw = (
        "Return-Path: <>\r\nFrom: Xa <vanphong@ubnd-xa.example.vn>\r\n"
        "Auto-Submitted: auto-replied\r\nSubject: Vắng mặt\r\nMessage-ID: <ooo@x>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nTôi đi công tác đến thứ Sáu.\r\n"
    ).encode()
    assert reply_of(raw) == "Tôi đi công tác đến thứ Sáu."


def test_an_address_in_an_auto_reply_is_not_a_failure() -> None:
    raw = (
        "Return-Path: <>\r\nFrom: Xa <vanphong@ubnd-xa.example.vn>\r\n"
        "Subject: Auto: vắng mặt\r\nMessage-ID: <ooo2@x>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Xin liên hệ <phochutich@ubnd-xa.example.vn> trong thời gian này.\r\n"
    ).encode()
    assert reply_of(raw) == "Xin liên hệ <phochutich@ubnd-xa.example.vn> trong thời gian này."


def test_a_calendar_reply_from_a_null_sender_is_still_an_answer() -> None:
    raw = b"Return-Path: <>\r\n" + sample("thunderbird_accept", uid=UID)
    assert answer_of(raw).uid == UID


def test_a_report_of_successful_delivery_is_not_a_bounce() -> None:
    raw = sample("dsn_5_1_1").replace(b"Action: failed", b"Action: delivered")
    meaning = understand(raw).meaning
    assert isinstance(meaning, Unreadable) and "delivered" in meaning.reason


def test_words_alone_from_a_person_are_not_a_bounce() -> None:
    raw = (
        b"From: Xa <vanphong@ubnd-xa.example.vn>\r\nSubject: Undelivered Mail Returned to Sender"
        b"\r\nMessage-ID: <w@x>\r\n\r\n<someone@example.vn>: 550 5.1.1 User unknown\r\n"
    )
    assert isinstance(understand(raw).meaning, PlainReply)


# ------------------------------------------------------------------ plain replies


def test_a_vietnamese_reply_loses_its_quoted_original() -> None:
    text = reply_of(sample("plain_reply"))
    assert text == (
        "Kính gửi Ban tổ chức,\n\n"
        "Xã Tân Hòa xin xác nhận sẽ tham dự, đại biểu là đồng chí Phó Chủ tịch.\n"
        "Điểm cầu đặt tại hội trường UBND xã.\n\nTrân trọng."
    )


def test_an_outlook_html_reply_is_text_without_the_from_sent_block() -> None:
    text = reply_of(sample("outlook_plain_reply"))
    assert text == (
        "Đề nghị Ban tổ chức gửi lại tài liệu & chương trình,\nfile đính kèm trước không mở được."
    )


def plain(body: str, charset: str = "utf-8") -> bytes:
    head = f"From: a@example.vn\r\nContent-Type: text/plain; charset={charset}\r\n"
    head += "Content-Transfer-Encoding: 8bit\r\n\r\n"
    return head.encode() + body.replace("\n", "\r\n").encode(charset)


@pytest.mark.parametrize(
    "quote",
    [
        "On Tue, Apr 16, 2030 at 9:22 AM Giao ban <giaoban@example.gov.vn> wrote:\n> Mời",
        "On Tue, Apr 16, 2030 at 9:22 AM Giao ban <\ngiaoban@example.gov.vn> wrote:\n\n> Mời",
        "Vào 09:22 Th 3, 16/04/2030, Giao ban đã viết:\nMời dự họp",
        "-----Original Message-----\nFrom: Giao ban\nSent: Tuesday\nMời dự họp",
        "________________________________\nFrom: Giao ban <g@x.vn>\nSent: Tuesday\nMời",
        "From: Giao ban <g@x.vn>\nSent: Tuesday, April 16, 2030 9:22 AM\nTo: Xã\nMời",
        "Từ: Giao ban <g@x.vn>\nĐã gửi: Thứ Ba\nMời dự họp",
        "> Mời dự họp\n> quý II",
    ],
)
def test_quoted_originals_are_cut(quote: str) -> None:
    assert reply_of(plain(f"Xã sẽ dự.\n\n{quote}\n")) == "Xã sẽ dự."


def test_a_reply_keeps_at_most_20000_characters() -> None:
    assert len(reply_of(plain("ý" * 50_000))) == 20_000


def test_a_windows_1258_reply_is_decoded_and_composed() -> None:
    # Windows-1258 writes Vietnamese with combining marks: read back as composed text.
    raw = plain(unicodedata.normalize("NFD", "Cảm tạ, xã sẽ đi họp"), charset="cp1258")
    assert reply_of(raw) == "Cảm tạ, xã sẽ đi họp"
    assert reply_of(plain("Спасибо", charset="koi8-r")) == "Спасибо"


# ------------------------------------------------------------------ never an exception


def nested(depth: int) -> bytes:
    head = b"From: a@example.vn\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
    body = b""
    for level in range(depth):
        body += (
            f"--b{level}\r\nContent-Type: multipart/mixed; boundary=b{level + 1}\r\n\r\n".encode()
        )
    body += f"--b{depth}\r\nContent-Type: text/plain\r\n\r\ndeep\r\n--b{depth}--\r\n".encode()
    return head + body


ODD: dict[str, bytes] = {
    "empty": b"",
    "blank lines": b"\r\n\r\n\r\n",
    "no headers": b"just some words, no header at all",
    "binary": random.Random(15).randbytes(4096),
    "nul bytes": b"From: a@example.vn\r\nSubject: \x00\x00\r\n\r\n\x00\x01\x02",
    "bad base64": (
        b"From: a@example.vn\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!*** not base64 ===\r\n"
    ),
    "bad base64 calendar": (
        b"From: a@example.vn\r\nContent-Type: text/calendar; method=REPLY\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nQkVHSU46VkNBTEVOREFS!!\r\n"
    ),
    "huge line": b"From: a@example.vn\r\nSubject: "
    + b"x" * 200_000
    + b"\r\n\r\n"
    + b"y" * 2_000_000,
    "unknown charset": (
        b"From: =?x-unknown?q?abc?= <a@example.vn>\r\nSubject: =?x-nope?b?!!?=\r\n"
        b"Content-Type: text/plain; charset=x-nope\r\n\r\n\xe1\xbb\x9d\xff\r\n"
    ),
    "8-bit headers": "From: Xã <xa@ubnd.vn>\r\nSubject: Trả lời\r\n\r\nok".encode(),
    "latin-1 headers": b"From: \xe9t\xe9 <a@example.vn>\r\nSubject: \xe9\r\n\r\nok",
    "nested 5": nested(5),
    "nested 300": nested(300),
    "unclosed multipart": (
        b'From: a@example.vn\r\nContent-Type: multipart/mixed; boundary="z"\r\n\r\n'
        b"--z\r\nContent-Type: text/calendar; method=COUNTER\r\n\r\nBEGIN:VCALENDAR\r\n"
        b"METHOD:COUNTER\r\nBEGIN:VEVENT\r\nUID:u\r\nDTSTART;TZID=\r\n"
    ),
    "report without parts": (
        b"From: MAILER-DAEMON@x.vn\r\nContent-Type: multipart/report; "
        b"report-type=delivery-status; boundary=q\r\n\r\nnothing here"
    ),
    "broken delivery status": (
        b"Return-Path: <>\r\nFrom: MAILER-DAEMON@x.vn\r\nContent-Type: multipart/report; "
        b"report-type=delivery-status; boundary=q\r\n\r\n--q\r\nContent-Type: "
        b"message/delivery-status\r\n\r\n\x00garbage: ;;;\r\nFinal-Recipient: rfc822;\r\n--q--\r\n"
    ),
    "endless message-id": b"Message-ID: <" + b"a" * 500 + b"@x>\r\nFrom: a@b.vn\r\n\r\nx",
    "header only": b"From: a@example.vn\r\n",
    "calendar garbage": (
        b"From: a@example.vn\r\nContent-Type: text/calendar; method=REPLY\r\n\r\n"
        b'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nATTENDEE;PARTSTAT="unterminated:mailto:a@b\r\n'
        b"UID:\r\nSEQUENCE:99999999999999999999\r\n"
    ),
}


@pytest.mark.parametrize("name", sorted(ODD))
def test_odd_input_never_raises(name: str) -> None:
    mail = understand(ODD[name])
    assert isinstance(mail, Mail)
    assert mail.envelope.key
    assert len(mail.envelope.key) <= 250


@pytest.mark.parametrize(
    "name", ["empty", "blank lines", "binary", "no headers", "report without parts"]
)
def test_what_has_no_meaning_is_unreadable(name: str) -> None:
    assert isinstance(understand(ODD[name]).meaning, Unreadable)


def test_the_malformed_sample_is_unreadable_with_its_reason() -> None:
    mail = understand(sample("malformed"))
    assert isinstance(mail.meaning, Unreadable)
    assert "broken MIME" in mail.meaning.reason
    assert mail.envelope.sender == ""
    assert mail.envelope.key == "<malformed-sample@mail.example.net>"


def test_deep_nesting_is_followed_to_a_limit() -> None:
    assert reply_of(nested(5)) == "deep"


def test_every_sample_has_a_meaning() -> None:
    kinds = {name: type(understand(sample(name)).meaning).__name__ for name in names()}
    assert kinds["malformed"] == "Unreadable"
    assert [name for name, kind in kinds.items() if kind == "Unreadable"] == ["malformed"]
