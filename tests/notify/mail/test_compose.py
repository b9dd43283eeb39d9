"""E-mails parsed back as a mail client would: structure, headers, calendar, injection."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest
from icalendar import Calendar

from notify.mail.compose import Rendered, compose
from notify.mail.ical import Person, scheduling
from tests.notify.mail.test_ical import EVENT, NOW, ORGANIZER, SITES

SENDER = ORGANIZER
RENDERED = Rendered(
    subject="[Giấy mời] Hội nghị Giao ban trực tuyến — Thứ Sáu, 19/04/2030",
    text="Kính gửi Liên hiệp các tổ chức hữu nghị tỉnh Kiên Giang,\n...",
    html="<p>Kính gửi <strong>Liên hiệp các tổ chức hữu nghị tỉnh Kiên Giang</strong></p>",
)


def build(**overrides) -> bytes:
    calendar = scheduling(EVENT, SITES[:1], method="REQUEST", now=NOW)
    arguments = {
        "sender": SENDER,
        "recipient": SITES[0],
        "rendered": RENDERED,
        "calendar": calendar,
        "method": "REQUEST",
        "now": NOW,
        **overrides,
    }
    return compose(**arguments).data


def test_an_invitation_has_the_shape_outlook_and_gmail_expect():
    raw = build()
    message = message_from_bytes(raw, policy=policy.default)
    assert message.get_content_type() == "multipart/mixed"
    alternative = message.get_payload()[0]
    assert alternative.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in alternative.iter_parts()]
    assert kinds == ["text/plain", "text/html", "text/calendar"]
    calendar_part = alternative.get_payload()[2]
    assert calendar_part.get_param("method") == "REQUEST"
    assert calendar_part.get_content_charset() == "utf-8"
    data = calendar_part.get_payload(decode=True)
    assert b"\r\nBEGIN:VEVENT\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert Calendar.from_ical(data)["METHOD"] == "REQUEST"
    attachment = message.get_payload()[1]
    assert attachment.get_filename() == "giaoban.ics"
    assert attachment.get_payload(decode=True) == data
    assert str(message["Subject"]) == RENDERED.subject  # Vietnamese survives the encoding
    assert str(message["To"]) == "Nguyễn Văn A <a@example.org>"
    assert message["Message-ID"].endswith("@example.org>")
    assert message["Date"] == "Mon, 01 Apr 2030 03:00:00 +0000"
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert message.get_payload()[0].get_payload()[0].get_content().startswith("Kính gửi")


def test_a_typed_line_break_cannot_add_a_header():
    nasty = Rendered(subject="Họp\r\nBcc: everyone@example.org", text="x", html="x")
    evil_name = Person("Lan\r\nBcc: spy@example.org", "lan@example.org")
    message = message_from_bytes(build(rendered=nasty, recipient=evil_name), policy=policy.default)
    assert message["Bcc"] is None
    assert str(message["Subject"]) == "Họp Bcc: everyone@example.org"
    assert message["To"].addresses[0].addr_spec == "lan@example.org"


def test_an_address_with_a_line_break_is_refused():
    with pytest.raises(ValueError, match="not a mailbox"):
        build(recipient=Person("x", "a@example.org\r\nBcc: b@example.org"))


def test_a_letter_can_be_attached():
    raw = build(attachments=(("Giấy mời.pdf", "application/pdf", b"%PDF-1.7 test"),))
    message = message_from_bytes(raw, policy=policy.default)
    names = [part.get_filename() for part in message.iter_attachments()]
    assert names == ["giaoban.ics", "Giấy mời.pdf"]


def test_the_wire_form_is_clean_mime_with_short_lines():
    long_title = "Hội nghị trực tuyến tổng kết công tác đối ngoại nhân dân năm 2030 " * 3
    raw = build(
        rendered=Rendered(subject=long_title, text="", html="<p>x</p>"),
        attachments=(("Giấy mời.pdf", "application/pdf", bytes(range(256)) * 40),),
    )
    strict = policy.default.clone(raise_on_defect=True)
    message = message_from_bytes(raw, policy=strict)  # a defect would raise here
    for part in message.walk():
        assert not part.defects
    assert str(message["Subject"]) == long_title.strip()
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))
    boundaries = {part.get_boundary() for part in message.walk() if part.is_multipart()}
    assert len(boundaries) == 2  # mixed and alternative, each its own
    attachment = list(message.iter_attachments())[-1]
    assert attachment.get_content() == bytes(range(256)) * 40
    assert message.get_body(("plain",)).get_content() == ""


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Dear Kien Giang,\nthe session starts at 08:00.\n", "7bit"),
        ("Kính gửi Liên hiệp các tổ chức hữu nghị tỉnh Kiên Giang,\n" * 5, "base64"),
        (
            '<p class="intro">Kính gửi <strong>Kiên Giang</strong></p>\n'
            '<table class="agenda"><tr><td>08:00</td><td>Khai mạc</td></tr></table>\n' * 5,
            "quoted-printable",
        ),
    ],
)
def test_texts_are_encoded_as_a_mail_client_would(text, encoding):
    """Plain ASCII goes as it is, Vietnamese prose as base64, markup as quoted-printable
    (base64 where it is not needed is what spam filters look for)."""
    raw = build(rendered=Rendered(subject="x", text=text, html=text))
    message = message_from_bytes(raw, policy=policy.default)
    for subtype in ("plain", "html"):
        part = message.get_body((subtype,))
        assert part["Content-Transfer-Encoding"] == encoding
        # As a client shows it: the wire's CRLF read as line ends, whatever the encoding.
        assert part.get_content().replace("\r\n", "\n") == text


#: The demo session's title: the stdlib's folding put the space of "hữu nghị" between two
#: encoded-words, where every decoder drops it ("hữunghị").
LONG_TITLE = (
    "Hội nghị Giao ban trực tuyến với 52 Liên hiệp các tổ chức hữu nghị tỉnh, thành phố năm 2024"
)


def strictly_decoded(raw: bytes, name: str) -> str:
    """The header as RFC 2047 says to read it (adjacent encoded-words are joined)."""
    from email.header import decode_header, make_header

    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    value = re.search(rf"^{name}: (.*?)\r\n(?! )", head, re.M | re.S)
    assert value is not None
    return str(make_header(decode_header(value.group(1).replace("\r\n", ""))))


@pytest.mark.parametrize("prefix", ["Đã hủy", "Cập nhật", "Giấy mời", "Cancelled"])
def test_subjects_keep_every_space_wherever_the_line_folds(prefix):
    for cut in range(0, len(LONG_TITLE), 3):  # every place a fold can fall
        subject = f"[{prefix}] {LONG_TITLE[cut:]} — 19/04/2024"
        raw = build(rendered=Rendered(subject=subject, text="x", html="x"))
        assert str(message_from_bytes(raw, policy=policy.default)["Subject"]) == subject
        assert strictly_decoded(raw, "Subject") == subject
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert all(len(line) <= 78 for line in head.split(b"\r\n"))


def test_long_vietnamese_names_keep_their_spaces():
    name = "Văn phòng Liên hiệp các tổ chức hữu nghị tỉnh Thanh Hóa và thành phố trực thuộc"
    for cut in range(0, len(name), 2):
        shown = name[cut:].strip()
        raw = build(recipient=Person(shown, "vp@example.org"))
        assert strictly_decoded(raw, "To") == f"{shown} <vp@example.org>"
        parsed = message_from_bytes(raw, policy=policy.default)
        assert parsed["To"].addresses[0].addr_spec == "vp@example.org"
