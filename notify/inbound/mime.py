"""Reading an e-mail's headers and parts leniently and fast, for `notify.inbound.parse`.

The stdlib's compat32 parser (the lean one: no header objects) gives raw headers; they
are indexed once by lower-case name, unfolded and decoded when asked for, and 8-bit bytes
(RFC 6532) are read as UTF-8. The parts that carry meaning are found in one walk.
"""

from __future__ import annotations

import binascii
import functools
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.quoprimime import header_decode
from email.utils import getaddresses, parseaddr

#: How deep MIME parts are followed (real mail nests 3 or 4 levels).
MAX_DEPTH = 12
#: Message-IDs with their <> (Message-ID, In-Reply-To, References).
MESSAGE_IDS = re.compile(r"<[^<>\s]+>")


Headers = dict[str, list[str]]


def index_headers(message: Message) -> Headers:
    """Every header by lower-case name, raw, in order: read once, asked many times."""
    index: Headers = {}
    for key, value in message.raw_items():
        index.setdefault(key.lower(), []).append(value)
    return index


def header(message: Message | Headers, name: str) -> str:
    """The first `name` header, unfolded, RFC 2047 words decoded, raw UTF-8 kept."""
    values = header_values(message, name)
    return _decoded(values[0]) if values else ""


def header_values(message: Message | Headers, name: str) -> list[str]:
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
    common = _utf8_words(value)
    if common is not None:
        return common
    try:
        return " ".join(str(make_header(decode_header(value))).split())
    except Exception:  # an unknown charset or a broken word: the words as they came
        return value


#: An RFC 2047 word in UTF-8, as clients write a Vietnamese subject or name.
_UTF8_WORD = re.compile(r"=\?(?i:utf-8)\?(?:[Bb]\?([A-Za-z0-9+/=]*)|[Qq]\?([!->@-~]*))\?=")
#: A plain word beside them: printable ASCII.
_PLAIN_WORD = re.compile(r"[!-~]+")


@functools.lru_cache(maxsize=512)
def _utf8_words(value: str) -> str | None:
    """`_decoded(value)` in a third of the time (cached: a client's subject and a
    site's name come back in each answer), when `value` (unfolded) is made of
    UTF-8 encoded words and plain ASCII words only; None for anything else, left to
    the stdlib. Its rules (decode_header, make_header), as they apply to those
    words: the encoded words of a run are joined as bytes, then decoded; the space
    between two of them goes, the others stay."""
    pieces: list[str] = []
    run: list[bytes] = []
    for word in value.split(" "):
        encoded = _UTF8_WORD.fullmatch(word)
        if encoded is not None:
            base64_text, quoted = encoded.groups()
            if base64_text is None:
                run.append(header_decode(quoted).encode("latin-1"))
                continue
            padding = len(base64_text) % 4
            if padding:  # as decode_header pads
                base64_text += "==="[: 4 - padding]
            try:
                run.append(binascii.a2b_base64(base64_text.encode("ascii")))
            except binascii.Error:
                return None
            continue
        if "=?" in word or _PLAIN_WORD.fullmatch(word) is None:
            return None
        if run and not _decode_run(run, pieces):
            return None
        run = []
        pieces.append(word)
    if run and not _decode_run(run, pieces):
        return None
    return " ".join(" ".join(pieces).split())


def _decode_run(run: list[bytes], pieces: list[str]) -> bool:
    try:
        pieces.append(b"".join(run).decode("utf-8"))
    except UnicodeDecodeError:  # the stdlib gives up too: left to it
        return False
    return True


_SIMPLE_ADDRESS = re.compile(r"(?:[^<>]*<)?([^<>\s\"(),;:@]+@[^<>\s\"(),;:@]+)>?\s*")


def address_of(value: str) -> str:
    """The address in a header value, lower-case; "" when there is none. The common
    shapes ("addr", "Name <addr>") by a pattern; the stdlib's parser for the rest."""
    simple = _SIMPLE_ADDRESS.fullmatch(value)
    found = (simple.group(1) if simple else parseaddr(value)[1]).strip().lower()
    local, at, domain = found.rpartition("@")
    return found if local and at and domain and "\ufffd" not in found else ""


def first_address(value: str) -> str:
    pairs = getaddresses([value])
    return pairs[0][1] if pairs else ""


@dataclass
class Parts:
    """The parts that carry meaning, found in one walk (returned messages not entered)."""

    calendars: list[Message] = field(default_factory=list)
    plain: list[Message] = field(default_factory=list)
    html: list[Message] = field(default_factory=list)
    reports: list[Message] = field(default_factory=list)
    returned: list[Message] = field(default_factory=list)
    returned_headers: list[Message] = field(default_factory=list)
    broken: str = ""


def walk(message: Message) -> Parts:
    parts = Parts()
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


def text_of(part: Message) -> str:
    """A text part's content, decoded from its transfer encoding and charset."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    return text_in(data, part.get_content_charset())


def text_in(data: bytes, charset: str | None) -> str:
    """A text part's decoded bytes in its charset (UTF-8 when it names none)."""
    try:
        return data.decode(charset or "utf-8", "replace")
    except LookupError:  # an unknown charset name
        return data.decode("utf-8", "replace")
