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

This module holds the dispatch; the readers it dispatches to are `fast` (the lean
reader of the clients' common calendar answers, tried first: the same Mail in a
quarter of the time, or None), `envelope`, `mime` (headers and parts), `bounces`,
`answers` (calendar REPLY and COUNTER) and `texts` (a reply's own words).

`Bounce.outbox_id` is always None here: the VERP return path needs the service's secret
and inbound address, which a pure reader does not have; the caller decodes
`mail.envelope.delivered_to` with `addresses.outbox_id_of`.
"""

from __future__ import annotations

from email import message_from_bytes
from email.message import Message
from email.policy import compat32

from notify.inbound import fast
from notify.inbound.answers import calendar_answer
from notify.inbound.bounces import is_report, looks_bounced, read_bounce
from notify.inbound.envelope import digest, envelope_of
from notify.inbound.mime import Headers, index_headers, text_of, walk
from notify.inbound.parsed import (
    Envelope,
    Mail,
    Meaning,
    PlainReply,
    Unreadable,
)
from notify.inbound.texts import cut_quotes, html_text


def understand(raw: bytes) -> Mail:
    """The meaning of one e-mail as the IMAP server returns it (RFC 822 bytes): a
    calendar answer in a common shape by the lean reader, anything else in full."""
    common = fast.read_answer(raw)
    return common if common is not None else read_in_full(raw)


def read_in_full(raw: bytes) -> Mail:
    """`understand` by the stdlib's parser alone: the reference the lean reader
    (`fast`) must agree with."""
    try:
        message = message_from_bytes(raw, policy=compat32)
        headers = index_headers(message)
        envelope = envelope_of(headers, raw)
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
    return Envelope(key=digest(raw), sender="", subject="", date=None)


# ---------------------------------------------------------------------------- meaning


def _meaning(message: Message, headers: Headers, envelope: Envelope) -> Meaning:
    parts = walk(message)
    if parts.broken and not (parts.plain or parts.html or parts.calendars or parts.reports):
        return Unreadable(f"broken MIME: {parts.broken}")
    reported = is_report(message, parts)
    bounced = looks_bounced(headers, envelope)
    bounce = read_bounce(headers, envelope, parts) if reported or bounced else None
    if reported and bounce is not None:
        return bounce
    # A calendar answer before a bounce told by its sender only: a REPLY that a calendar
    # server sent from a null sender is still a REPLY.
    for part in parts.calendars:
        answer = calendar_answer(part)
        if answer is not None:
            return answer
    if bounce is not None:
        return bounce
    if not envelope.sender:
        return Unreadable("no sender (From)")
    if parts.plain:
        return PlainReply(cut_quotes(text_of(parts.plain[0])))
    if parts.html:
        return PlainReply(cut_quotes(html_text(text_of(parts.html[0]))))
    if parts.broken:
        return Unreadable(f"broken MIME: {parts.broken}")
    return Unreadable("no text in the message")
