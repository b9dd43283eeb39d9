"""The register's CSV and XLSX files read as rows of text, as a stream, within [imports].

Reading stops at the first limit a file passes, before the rest is read: its size
(`max_size_mb`; a workbook may unpack to `UNPACKED_RATIO` times that), its rows below
the header (`max_rows`, blank ones included) and its columns (`max_columns`). The caller
reads in a worker thread (`imports.import_sites`), so a big file never holds up the
event loop. A bad file is told in words to act on.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path, PurePath
from typing import IO, Any, Literal
from xml.parsers import expat

from openpyxl.utils.cell import coordinate_to_tuple

from meetings.core.config import DEFAULTS
from meetings.core.errors import DomainError, FieldProblem, Invalid
from meetings.core.labels import N_
from meetings.core.settings import ImportSettings
from meetings.core.spreadsheets import unprotect

FileKind = Literal["csv", "xlsx"]

#: (line number, cell texts) of each row, the header included, as the file is read.
Rows = Iterator[tuple[int, list[str]]]

XLSX_MAGIC = b"PK\x03\x04"

#: A workbook is zipped XML: it may unpack to this many times `max_size_mb`.
UNPACKED_RATIO = 20

#: Files that are no spreadsheet we read, as msgids (`{name}`: the file's name).
NOT_A_SHEET = N_(
    '{name} is neither .csv nor .xlsx; save it as "CSV UTF-8" or as an Excel workbook (.xlsx)'
)
OLD_EXCEL = N_(
    "{name} is neither .csv nor .xlsx (.xls is the old Excel format: save it as .xlsx); "
    'save it as "CSV UTF-8" or as an Excel workbook (.xlsx)'
)
UNREADABLE_WORKBOOK = N_("the workbook cannot be read; save it as .xlsx again")

#: The limits of config.toml's defaults, for callers without settings (tests, scripts).
DEFAULT_LIMITS = ImportSettings(**DEFAULTS["imports"])


class OverLimit(Invalid):
    """The file passes one of the [imports] limits: refused (413) with the rest unread."""

    code = "too_large"
    status = 413

    def __init__(self, key: str, limit: int, message: str, line: int | None = None) -> None:
        super().__init__(message, [FieldProblem("file", message, line)])
        #: Which limit ("max_size_mb", "unpacked", "max_rows", "max_columns") and its value,
        #: for the import page to say it in the reader's language.
        self.key = key
        self.limit = limit


def over_size(limits: ImportSettings) -> OverLimit:
    return OverLimit(
        "max_size_mb",
        limits.max_size_mb,
        f"the file is larger than {limits.max_size_mb} MB, the limit set by [imports] max_size_mb",
    )


def _over_rows(limits: ImportSettings, line: int) -> OverLimit:
    return OverLimit(
        "max_rows",
        limits.max_rows,
        f"the file has more than {limits.max_rows} rows below its header, the limit set by "
        "[imports] max_rows; split it into several files",
        line,
    )


def _over_columns(limits: ImportSettings, line: int) -> OverLimit:
    return OverLimit(
        "max_columns",
        limits.max_columns,
        f"row {line} has more than {limits.max_columns} columns, the limit set by "
        "[imports] max_columns",
        line,
    )


def kind_from_name(filename: str) -> FileKind:
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".xlsx":
        return "xlsx"
    template = NOT_A_SHEET if suffix != ".xls" else OLD_EXCEL
    raise Invalid(
        "unsupported file type",
        [FieldProblem.of("file", template, name=filename or "the file")],
    )


def read_rows(
    source: bytes | Path, kind: FileKind, limits: ImportSettings = DEFAULT_LIMITS
) -> Rows:
    """Each row of the file as it is read, the header included; `OverLimit` at a limit."""
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    if size > limits.max_bytes:
        raise over_size(limits)
    with io.BytesIO(source) if isinstance(source, bytes) else source.open("rb") as stream:
        if kind == "xlsx":
            yield from _xlsx_rows(stream, limits)
        else:
            yield from _csv_rows(stream, limits)


def _check_limits(line: int, cells: list[str], limits: ImportSettings) -> None:
    if line > limits.max_rows + 1:
        raise _over_rows(limits, line)
    if len(cells) > limits.max_columns and any(cells[limits.max_columns :]):
        raise _over_columns(limits, line)


def _csv_rows(stream: IO[bytes], limits: ImportSettings) -> Rows:
    first = stream.readline()
    if first.startswith(XLSX_MAGIC):
        raise _file_problem(
            N_("this is an Excel workbook, not CSV: send it as .xlsx, or save it as CSV UTF-8")
        )
    if first.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _file_problem(N_('the file is UTF-16 text; save it as "CSV UTF-8" instead'), line=1)
    header = _decoded(first, 1).removeprefix("\ufeff")
    lines = _text_lines(header, stream)
    reader = csv.reader(lines, delimiter=_sniff_delimiter(header))
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            _check_limits(number, cells, limits)
            yield number, [unprotect(cell.strip()) for cell in cells]
    except csv.Error as exc:
        raise _file_problem(
            N_("the CSV cannot be read here; save it as CSV UTF-8 again"),
            line=number + 1,
            english=f"the CSV cannot be read: {exc}",
        ) from None


def _text_lines(header: str, stream: IO[bytes]) -> Iterator[str]:
    """The text's lines, decoded one at a time, split at \\r, \\n and \\r\\n alike."""
    yield from _LINE_END.split(header)
    for number, raw in enumerate(stream, start=2):
        yield from _LINE_END.split(_decoded(raw, number))


#: After a carriage return that no line feed follows (old Mac line ends).
_LINE_END = re.compile(r"(?<=\r)(?!\n)")


def _decoded(raw: bytes, line: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _file_problem(
            N_(
                "the file is not UTF-8 text (the first wrong byte is on line {line}); "
                'in Excel use "Save As" and choose "CSV UTF-8 (Comma delimited)"'
            ),
            line=line,
        ) from None


def _sniff_delimiter(header: str) -> str:
    """Comma, unless the header has more semicolons (Excel in some locales) or tabs."""
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _xlsx_rows(stream: IO[bytes], limits: ImportSettings) -> Rows:
    from openpyxl import load_workbook

    if stream.read(len(XLSX_MAGIC)) != XLSX_MAGIC:
        raise _file_problem(
            N_("this is not an Excel workbook (.xlsx); a CSV file must be sent as text/csv")
        )
    stream.seek(0)
    _check_workbook(stream, limits)
    stream.seek(0)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # a damaged zip, a missing part, bad XML: openpyxl raises many kinds
        raise _file_problem(
            UNREADABLE_WORKBOOK,
            english=f"the workbook cannot be read ({exc}); save it as .xlsx again",
        ) from None
    try:
        if not workbook.worksheets:
            raise _file_problem(N_("the workbook has no worksheet"))
        rows = workbook.worksheets[0].iter_rows(
            min_row=1, max_col=limits.max_columns, values_only=True
        )
        for number, values in enumerate(rows, start=1):
            cells = [unprotect(_cell_text(value)) for value in values]
            while cells and not cells[-1]:
                cells.pop()
            _check_limits(number, cells, limits)
            yield number, cells
    finally:
        workbook.close()


def _check_workbook(stream: IO[bytes], limits: ImportSettings) -> None:
    """Its unpacked size, then every worksheet streamed through `_SheetScan`: a workbook
    past the limits is refused before openpyxl reads it (openpyxl reads a whole sheet
    that has no <dimension> just to size it). Every sheet is held to the limits, though
    only the first is imported."""
    try:
        with zipfile.ZipFile(stream) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
            if unpacked > limits.max_bytes * UNPACKED_RATIO:
                raise OverLimit(
                    "unpacked",
                    limits.max_size_mb * UNPACKED_RATIO,
                    f"the workbook unpacks to more than {limits.max_size_mb * UNPACKED_RATIO} "
                    f"MB ({UNPACKED_RATIO} times [imports] max_size_mb)",
                )
            for name in archive.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    _scan_sheet(archive, name, limits)
    except DomainError:
        raise
    except Exception as exc:  # a damaged, encrypted or unknown zip; bad XML: many kinds
        raise _file_problem(
            UNREADABLE_WORKBOOK,
            english=f"the workbook cannot be read ({exc}); save it as .xlsx again",
        ) from None


class _SheetScan:
    """The sheet's rows and cells counted as its XML streams past, with no tree built, so
    that a sheet beyond the limits is refused before openpyxl builds any of its rows."""

    def __init__(self, limits: ImportSettings) -> None:
        self.limits = limits
        self.row = self.cells = self.column = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = name.rpartition(":")[2]
        if tag == "row":
            number = attrs.get("r", "")
            self.row = int(number) if number.isdigit() else self.row + 1
            self.cells = self.column = 0
            if self.row > self.limits.max_rows + 1:
                raise _over_rows(self.limits, self.row)
        elif tag == "c":
            self.cells += 1
            reference = attrs.get("r")
            self.column = coordinate_to_tuple(reference)[1] if reference else self.column + 1
            if self.cells > self.limits.max_columns:
                raise _over_columns(self.limits, self.row)
        elif tag in ("v", "is", "f") and self.column > self.limits.max_columns:
            raise _over_columns(self.limits, self.row)  # a value beyond the last column

    @staticmethod
    def no_doctype(*_args: object) -> None:
        raise ValueError("a worksheet has no document type declaration")


def _scan_sheet(archive: zipfile.ZipFile, name: str, limits: ImportSettings) -> None:
    scan = _SheetScan(limits)
    parser = expat.ParserCreate()
    parser.StartElementHandler = scan.start
    parser.StartDoctypeDeclHandler = scan.no_doctype
    with archive.open(name) as xml:
        parser.ParseFile(xml)


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


def _file_problem(template: str, line: int | None = None, english: str | None = None) -> Invalid:
    """The file cannot be read: said by a msgid (`{line}` filled), with the reader's
    own English for the API when it says more."""
    message = english or template.format(line=line)
    problem = FieldProblem("file", message, line, template, (("line", line),))
    return Invalid("the file cannot be read", [problem])
