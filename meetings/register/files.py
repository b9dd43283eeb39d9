"""The register's CSV and XLSX files read as rows of text; a bad file told in words to act on."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any, Literal

from meetings.core.errors import FieldProblem, Invalid

FileKind = Literal["csv", "xlsx"]

XLSX_MAGIC = b"PK\x03\x04"


def kind_from_name(filename: str) -> FileKind:
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".xlsx":
        return "xlsx"
    hint = " (.xls is the old Excel format: save it as .xlsx)" if suffix == ".xls" else ""
    raise Invalid(
        "unsupported file type",
        [
            FieldProblem(
                "file",
                f"{filename or 'the file'} is neither .csv nor .xlsx{hint}; "
                'save it as "CSV UTF-8" or as an Excel workbook (.xlsx)',
            )
        ],
    )


def read_rows(content: bytes, kind: FileKind) -> list[tuple[int, list[str]]]:
    """(line number, cell texts) for every row of the file, the header included."""
    return _xlsx_rows(content) if kind == "xlsx" else _csv_rows(content)


def _csv_rows(content: bytes) -> list[tuple[int, list[str]]]:
    if content.startswith(XLSX_MAGIC):
        raise _file_problem(
            "this is an Excel workbook, not CSV: send it as .xlsx, or save it as CSV UTF-8"
        )
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _file_problem('the file is UTF-16 text; save it as "CSV UTF-8" instead', line=1)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise _file_problem(
            f"the file is not UTF-8 text (the first wrong byte is on line {line}); "
            'in Excel use "Save As" and choose "CSV UTF-8 (Comma delimited)"',
            line=line,
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(reader, start=1):
            rows.append((number, [cell.strip() for cell in cells]))
    except csv.Error as exc:
        raise _file_problem(f"the CSV cannot be read: {exc}", line=len(rows) + 1) from None
    return rows


def _sniff_delimiter(text: str) -> str:
    """Comma, unless the header has more semicolons (Excel in some locales) or tabs."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _xlsx_rows(content: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    if not content.startswith(XLSX_MAGIC):
        raise _file_problem(
            "this is not an Excel workbook (.xlsx); a CSV file must be sent as text/csv"
        )
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # a damaged zip, a missing part, bad XML: openpyxl raises many kinds
        raise _file_problem(
            f"the workbook cannot be read ({exc}); save it as .xlsx again"
        ) from None
    try:
        if not workbook.worksheets:
            raise _file_problem("the workbook has no worksheet")
        sheet = workbook.worksheets[0]
        return [
            (number, [_cell_text(value) for value in values])
            for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), 1)
        ]
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _file_problem(message: str, line: int | None = None) -> Invalid:
    return Invalid("the file cannot be read", [FieldProblem("file", message, line)])
