"""Cells a spreadsheet would run as formulas, written as inert text, and read back as written.

OWASP's rule for CSV injection: a cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return gets a leading single quote, which Excel and LibreOffice read as "text".
A cell that starts with quotes before such a character gets one more, so that `unprotect`
can tell the quote it must remove from a quote that was part of the value: the two are
exact inverses, and every file the service writes imports back unchanged.
"""

from __future__ import annotations

from openpyxl.cell.cell import Cell, MergedCell

#: What makes a spreadsheet read a cell as a formula (or as DDE) rather than as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

QUOTE = "'"


def needs_quote(text: str) -> bool:
    """True when `text`, after any leading quotes, starts like a formula."""
    return text.lstrip(QUOTE).startswith(FORMULA_STARTS)


def protect(text: str) -> str:
    """The cell as a CSV file may carry it: a formula-like text quoted, the rest unchanged."""
    return QUOTE + text if needs_quote(text) else text


def unprotect(text: str) -> str:
    """The text `protect` was given: its quote removed where `protect` added one."""
    if text.startswith(QUOTE) and needs_quote(text[1:]):
        return text[1:]
    return text


def as_text(cell: Cell | MergedCell) -> None:
    """A workbook cell holding a string stays a string, even one that starts with '='."""
    if isinstance(cell, Cell) and isinstance(cell.value, str):
        cell.data_type = "s"
        if needs_quote(cell.value):
            cell.quotePrefix = True  # Excel keeps it text when the cell is edited, too
