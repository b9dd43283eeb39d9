"""The checks of bench/hostile_input.py: is a hostile value shown safely in each output?

Each stored value carries a marker (`zq12x`) naming its field, so a finding names the
field that caused it. A check returns the markers found in the output (where the value
is shown) and the findings (marker or None, what is wrong); none means escaped.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import lxml.html
import openpyxl

MARKER = re.compile(r"zq\d+x")
#: Characters that open a formula in a spreadsheet (OWASP's CSV injection rules).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Text properties of an iCalendar file that may carry a stored value.
ICS_TEXT = {
    "SUMMARY",
    "DESCRIPTION",
    "LOCATION",
    "COMMENT",
    "CONTACT",
    "ORGANIZER",
    "ATTENDEE",
    "URL",
    "X-ALT-DESC",
    "X-WR-CALNAME",
    "X-WR-CALDESC",
}
ICS_NAME = re.compile(r"^[A-Z][A-Z0-9-]*(?=[;:])")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
HTML_SPECIAL = re.compile(r"[<>\"'&]")


@dataclass
class Seen:
    """What one output showed: the markers in it, and what was unsafe."""

    shown: set[str] = field(default_factory=set)
    findings: list[tuple[str | None, str]] = field(default_factory=list)

    def add(self, text: str, problem: str) -> None:
        markers: set[str | None] = set(MARKER.findall(text)) or {None}
        self.findings += [(marker, problem) for marker in markers]

    def merge(self, other: Seen, where: str) -> None:
        self.shown |= other.shown
        self.findings += [(m, f"{where}: {p}") for m, p in other.findings]


def html(page: str, sent: dict[str, str]) -> Seen:
    """A page or an HTML part: no element or handler from a value, no value unescaped.

    `sent`: marker → the value as sent; a value with an HTML character must never appear
    verbatim in the source (escaped, it cannot)."""
    seen = Seen(shown=set(MARKER.findall(page)))
    for marker, value in sent.items():
        if marker in seen.shown and HTML_SPECIAL.search(value) and value in page:
            seen.findings.append((marker, "unescaped in the HTML source"))
    if not page.strip():
        return seen
    root = lxml.html.document_fromstring(page)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = lxml.html.tostring(element, encoding="unicode").split(">", 1)[0]
        for name, value in element.attrib.items():
            if name.lower().startswith("on"):
                seen.add(tag, f"event handler attribute {name}")
            if name in ("href", "src", "action") and value.strip().lower().startswith(
                "javascript:"
            ):
                seen.add(tag, f"javascript: in {name}")
        if element.tag in ("script", "iframe", "object", "embed", "svg", "img", "base"):
            if element.tag == "script" and element.get("src", "").startswith("/static/"):
                continue
            if element.tag == "iframe" and "mail-html" in element.get("class", ""):
                continue
            seen.add(tag + (element.text or ""), f"<{element.tag}> element")
    return seen


def _unfold(data: bytes) -> tuple[list[str], Seen]:
    seen = Seen()
    text = data.decode("utf-8", errors="replace")
    if "\x00" in text:
        seen.add(text, "NUL byte in the .ics")
    lines: list[str] = []
    for raw in text.split("\r\n"):
        if raw.startswith((" ", "\t")) and lines:
            lines[-1] += raw[1:]
        elif raw:
            lines.append(raw)
    return lines, seen


def ics(data: bytes) -> Seen:
    """An iCalendar file: every value stays inside its own property (RFC 5545 escaping)."""
    lines, seen = _unfold(data)
    for line in lines:
        markers = MARKER.findall(line)
        seen.shown |= set(markers)
        name = ICS_NAME.match(line)
        if name is None:
            seen.add(line, "a line that is no property (a bare line break)")
            continue
        if name.group(0) == "X-INJECTED":
            seen.add(line, "an injected property")
        if markers and name.group(0) not in ICS_TEXT:
            seen.add(line, f"a value in {name.group(0)}")
        if CONTROL.search(line) or "\r" in line or "\n" in line:
            seen.add(line, "a control character in a line")
    return seen


def spreadsheet_text(rows: list[list[str]], where: str) -> Seen:
    seen = Seen()
    for row in rows:
        for cell in row:
            markers = MARKER.findall(cell)
            seen.shown |= set(markers)
            if markers and cell.startswith(FORMULA_START):
                seen.add(cell, f"{where} cell starts with {cell[:1]!r} (a formula)")
    return seen


def csv_file(data: bytes) -> Seen:
    text = data.decode("utf-8-sig", errors="replace")
    return spreadsheet_text(list(csv.reader(io.StringIO(text, newline=""))), "CSV")


def xlsx_file(data: bytes) -> Seen:
    """XLSX: no cell is a formula (a text cell starting with "=" is text: it is shown, never
    computed)."""
    seen = Seen()
    book = openpyxl.load_workbook(io.BytesIO(data))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                text = str(cell.value)
                seen.shown |= set(MARKER.findall(text))
                if cell.data_type == "f":
                    seen.add(text, "XLSX formula cell")
    return seen


def email(data: bytes, sent: dict[str, str], expected_headers: set[str]) -> Seen:
    """An .eml: no header of its own from a value, the HTML part and the .ics checked."""
    seen = Seen()
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    for name, value in message.items():
        text = str(value)
        seen.shown |= set(MARKER.findall(text))
        if name.lower() not in expected_headers:
            seen.add(text, f"an injected header {name}")
        if "\r" in text or "\n" in text or CONTROL.search(text):
            seen.add(text, f"a line break or control character in {name}")
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/html":
            seen.merge(html(str(part.get_content()), sent), "e-mail HTML")
        elif kind == "text/plain":
            seen.shown |= set(MARKER.findall(str(part.get_content())))
        elif kind == "text/calendar":
            seen.merge(ics(part.get_payload(decode=True)), "e-mail .ics")
        filename = part.get_filename() or ""
        if "/" in filename or "\\" in filename or CONTROL.search(filename):
            seen.add(filename, f"attachment file name {filename!r}")
    return seen


def header_names(data: bytes) -> set[str]:
    """The header names of a message written from benign values: the expected ones."""
    return {name.lower() for name in BytesParser(policy=policy.default).parsebytes(data).keys()}
