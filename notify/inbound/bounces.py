"""Bounces: a mail server's report that a message of ours did not arrive, read from an
RFC 3464 delivery status notification or from the common non-standard forms (Exim,
Gmail, Exchange, Postfix's plain text), recognised by what servers put in headers.
"""

from __future__ import annotations

import re
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from notify.inbound.mime import (
    MESSAGE_IDS,
    Headers,
    Parts,
    address_of,
    header,
    header_values,
    text_of,
)
from notify.inbound.parsed import Bounce, Envelope, Meaning, Unreadable
from notify.inbound.texts import html_text

_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_CODE = re.compile(r"(?<!\d)([45])\d\d(?=[\s-])")
_ANGLED = re.compile(r"<([^<>\s@]+@[^<>\s@]+)>")
_ADDRESS = re.compile(r"[^\s<>\"'(),;:@]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_REPORTS = ("delivery-status", "global-delivery-status")
_DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")


def is_report(message: Message, parts: Parts) -> bool:
    """An RFC 3464 delivery status notification, whoever sent it (Exchange's NDR comes
    from a "MicrosoftExchange…" address, not MAILER-DAEMON)."""
    if not parts.reports or message.get_content_type() != "multipart/report":
        return False
    report = message.get_param("report-type")
    return isinstance(report, str) and report.lower() in _REPORTS


def looks_bounced(headers: Headers, envelope: Envelope) -> bool:
    """Sent as servers send bounces: the null return path, a MAILER-DAEMON, or the
    failed addresses in a header (Exim, Gmail)."""
    if "x-failed-recipients" in headers:
        return True
    return_path = header_values(headers, "return-path")
    if return_path and return_path[0].strip() in ("<>", ""):
        return True
    local = envelope.sender.partition("@")[0]
    return local in _DAEMONS


def read_bounce(headers: Headers, envelope: Envelope, parts: Parts) -> Meaning | None:
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
    notice = "\n".join(text_of(part) for part in parts.plain[:2])
    if not parts.plain and not parts.html:
        return None
    if not notice:
        notice = html_text(text_of(parts.html[0]))
    notice = _notification(notice)
    failed = header_values(headers, "x-failed-recipients")
    recipient = address_of(failed[0].split(",")[0]) if failed else _failed_address(notice)
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
        named = header(block, "final-recipient") or header(block, "original-recipient")
        if not named:
            continue
        recipient = address_of(named.rpartition(";")[2])
        action = header(block, "action").lower().strip()
        status = _STATUS.search(header(block, "status"))
        diagnostic = header(block, "diagnostic-code")
        if ";" in diagnostic[:20]:
            diagnostic = diagnostic.split(";", 1)[1].strip()
        found.append((recipient, action, status.group(0) if status else "", diagnostic[:1000]))
    for wanted in ("failed", "delayed"):
        for entry in found:
            if entry[1] == wanted:
                return entry
    return found[0] if found else None


def _chunks(report: Message) -> list[str]:
    text = text_of(report).replace("\r\n", "\n")
    return [chunk for chunk in re.split(r"\n\s*\n", text) if chunk.strip()]


def _original_id(parts: Parts, envelope: Envelope) -> str:
    """The Message-ID of the message that came back, from the returned copy or headers,
    else the one the bounce says it answers."""
    for part in parts.returned:
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            ids = MESSAGE_IDS.findall(header(inner[0], "message-id"))
            if ids:
                return ids[0]
    for part in parts.returned_headers:
        ids = MESSAGE_IDS.findall(header(HeaderParser().parsestr(text_of(part)), "message-id"))
        if ids:
            return ids[0]
    for part in parts.reports:
        found = re.search(r"(?im)^x-original-message-id:\s*(<[^<>\s]+>)", text_of(part))
        if found:
            return found.group(1)
    for part in parts.plain[:2]:
        found = re.search(r"(?im)^message-id:\s*(<[^<>\s]+>)", text_of(part))
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
