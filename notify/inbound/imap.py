"""The IMAP wire under `notify.inbound.mailbox`: aioimaplib adjusted for big answers,
and the small pieces of IMAP syntax the mailbox writes and reads (UID sets, folder names
in modified UTF-7, FETCH responses)."""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aioimaplib

#: Bytes handed to aioimaplib's reader at a time (see `_Protocol`).
READ_SLICE = 4096

_FETCH_START = re.compile(rb"\d+ FETCH \(")
_UID = re.compile(rb"\bUID (\d+)")
_ATOM = re.compile(r"[A-Za-z0-9_.\-+/&]+")


@dataclass(frozen=True)
class Fetched:
    """One message as the server stores it."""

    uid: int
    raw: bytes


def uid_set(uids: Sequence[int]) -> str:
    """UIDs as an IMAP sequence set with ranges ("1:4,7,9:10"): 500 UIDs in a short line."""
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("no UIDs")
    parts: list[str] = []
    start = previous = ordered[0]
    for uid in [*ordered[1:], None]:
        if uid is not None and uid == previous + 1:
            previous = uid
            continue
        parts.append(str(start) if start == previous else f"{start}:{previous}")
        if uid is not None:
            start = previous = uid
    return ",".join(parts)


def folder_name(name: str) -> str:
    """A folder name as an IMAP astring: modified UTF-7 (RFC 3501 5.1.3) for non-ASCII
    ("Đã xử lý"), quoted when it is not a plain atom."""
    encoded = _utf7(name)
    if _ATOM.fullmatch(encoded):
        return encoded
    return str(aioimaplib.quoted(encoded))


def _utf7(name: str) -> str:
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode("ascii").rstrip("=").replace("/", ","))
            out.append("-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def parse_fetch(lines: Sequence[Any]) -> list[Fetched]:
    """Each message's UID and bytes from aioimaplib's FETCH lines.

    aioimaplib gives the untagged lines without "* " as bytes, and each literal (the
    message itself) as a separate bytearray after the line announcing it; the UID may
    come before the literal or after it (" UID 7)"). A message without a literal (NIL:
    expunged meanwhile) or an unsolicited FETCH of flags is left out."""
    found: list[Fetched] = []
    uid: int | None = None
    raw: bytes | None = None

    def close() -> None:
        if uid is not None and raw is not None:
            found.append(Fetched(uid, raw))

    for line in lines:
        if isinstance(line, bytearray):
            raw = bytes(line)
            continue
        if _FETCH_START.match(line):
            close()
            uid, raw = None, None
        match = _UID.search(line)
        if match and uid is None:
            uid = int(match.group(1))
    close()
    return found


class Protocol(aioimaplib.IMAP4ClientProtocol):
    """aioimaplib's protocol, fed a few kilobytes at a time. Its reader calls itself once
    per line and copies the rest of what was read at each line: a read of hundreds of
    kilobytes (what TLS hands over after the loop was busy) cost a copy per line, and one
    holding more than ~950 lines (the "* 1 EXPUNGE" lines of a UID MOVE of 1,000
    messages) exceeded Python's recursion limit and dropped the connection, the pass
    then retried forever. READ_SLICE bytes hold at most ~300 lines."""

    def data_received(self, d: bytes) -> None:
        for start in range(0, len(d), READ_SLICE):
            super().data_received(d[start : start + READ_SLICE])


class Client(aioimaplib.IMAP4):
    """aioimaplib's client on `Protocol`."""

    def create_client(
        self,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop | None,
        conn_lost_cb: Any = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        loop = loop if loop is not None else asyncio.get_running_loop()
        self.protocol = Protocol(loop, conn_lost_cb)
        self._client_task = loop.create_task(
            loop.create_connection(lambda: self.protocol, host, port, ssl=ssl_context)
        )


class Fetch(aioimaplib.FetchCommand):
    """aioimaplib's FETCH, told in constant time whether the message being received is
    complete. The library's own test re-reads every line of the response so far for each
    line that arrives: quadratic in the chunk, it took most of a fetch's time (2.4 s of
    CPU for 10,000 replies fetched 500 at a time, bench/replies.py) and minutes for
    thousands in one chunk. Same rule, kept as a running count: the parentheses still
    open in the lines (not the literals) since the last "n FETCH (" line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open = 0
        super().__init__(*args, **kwargs)

    def append_to_resp(self, line: bytes, result: str = "Pending") -> None:
        super().append_to_resp(line, result)
        if type(line) is bytes:  # a literal (the message itself) is a bytearray
            if self.FETCH_MESSAGE_DATA_RE.match(line):
                self._open = 0
            self._open += line.count(b"(") - line.count(b")")

    def wait_data(self) -> bool:
        return self._open != 0
