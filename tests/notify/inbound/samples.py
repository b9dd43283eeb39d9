"""Real-shaped inbound e-mails (tests/notify/inbound/samples/*.eml) with the values a
test needs filled in: the UID and SEQUENCE of a session, the attendee who answers, the
Message-ID of the mail, the VERP return path a bounce comes back to.

The .eml files are written as the clients send them, with `{placeholder}`s where a test
puts its own values (see samples/README.md). Parts the client encodes (base64,
quoted-printable) are written in clear between `{base64}` … `{/base64}` or `{qp}` …
`{/qp}` lines and encoded here after the values are filled in, so a placeholder works
inside an encoded calendar too.
"""

from __future__ import annotations

import base64
import quopri
import re
from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent / "samples"

#: Every placeholder and the value it takes when a test does not give one.
DEFAULTS: dict[str, str] = {
    # The session's calendar UID and the SEQUENCE the answer is about.
    "uid": "0b6f1c2e-5a7d-4c1e-9b3a-2f1d0c9e8a71@giaoban",
    "sequence": "0",
    # The site contact who answers (From, ATTENDEE), or whose address failed (bounces).
    "attendee": "vanphong@ubnd-xa.example.vn",
    # Who the attendee delegated to (delegated sample only).
    "delegated_to": "phochutich@ubnd-xa.example.vn",
    # Our inbound mailbox: ORGANIZER, To of a reply.
    "organizer": "giaoban@inbound.example.gov.vn",
    # This e-mail's own Message-ID, without <> ("" default: one made from the name).
    "message_id": "",
    # The Message-ID (without <>) of our outgoing message it answers or returns.
    "in_reply_to": "original-1@giaoban.example.gov.vn",
    # The VERP address a bounce is delivered to (addresses.return_path(...)).
    "return_path": "giaoban+b1-00000000@inbound.example.gov.vn",
}

_PLACEHOLDER = re.compile(r"\{(" + "|".join(DEFAULTS) + r")\}")
_ENCODED = re.compile(r"^\{(base64|qp)\}\n(.*?)^\{/\1\}\n", re.MULTILINE | re.DOTALL)


def names() -> list[str]:
    """Every sample, by the name `sample()` takes."""
    return sorted(path.stem for path in DIRECTORY.glob("*.eml"))


def sample(name: str, **values: str) -> bytes:
    """The e-mail `name` (with or without ".eml") as the server stores it: the
    placeholders filled (unknown value names are an error: a typo would silently test
    the default), encoded parts encoded, CRLF line endings."""
    unknown = set(values) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown sample values: {sorted(unknown)}")
    stem = name.removesuffix(".eml")
    filled = DEFAULTS | {"message_id": f"{stem}-sample@mail.example.net"} | values
    text = (DIRECTORY / f"{stem}.eml").read_bytes().decode("utf-8", "surrogateescape")
    text = text.replace("\r\n", "\n")
    text = _PLACEHOLDER.sub(lambda m: filled[m.group(1)], text)
    text = _ENCODED.sub(_encode, text)
    return text.replace("\n", "\r\n").encode("utf-8", "surrogateescape")


def _encode(match: re.Match[str]) -> str:
    body = match.group(2).replace("\n", "\r\n").encode("utf-8")
    if match.group(1) == "base64":
        data = base64.b64encode(body).decode("ascii")
        return "".join(data[i : i + 76] + "\n" for i in range(0, len(data), 76))
    encoded = quopri.encodestring(body).decode("ascii").replace("\r\n", "\n")
    return encoded if encoded.endswith("\n") else encoded + "\n"
