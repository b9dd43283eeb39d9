"""WordprocessingML written as text (runs, paragraphs, tables): parsed once, it is many times
faster than python-docx's objects for the thousands of rows of a national session."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape as xml_escape

from agendas.minutes.parts import Table

#: The font of Decree 30 (Times New Roman); Liberation Serif has its metrics and covers
#: Vietnamese, so the PDF embeds that and Word on the office's machine shows Times.
FONT = "Times New Roman"

#: Characters XML 1.0 refuses; a stray one typed into a note must not break the .docx.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

#: The WordprocessingML namespace, declared on each fragment parsed on its own.
W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _twips(mm: float) -> int:
    return round(mm * 1440 / 25.4)


def _x(text: str) -> str:
    return xml_escape(_XML_INVALID.sub("", text))


@dataclass(frozen=True)
class Run:
    """A stretch of text in one character format."""

    text: str
    bold: bool = False
    italic: bool = False
    underline: bool = False
    size: float | None = None


#: Set on every run as well as in the styles: text copied into another document (offices
#: paste parts of minutes into reports) keeps Times New Roman for its Vietnamese letters,
#: which Word may otherwise take from the east-Asian or complex-script font slot.
_RUN_FONTS = f'<w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:eastAsia="{FONT}" w:cs="{FONT}"/>'


def _run_xml(run: Run) -> str:
    """A <w:r>, its properties in the schema's order (Word refuses a file otherwise)."""
    props = _RUN_FONTS
    if run.bold:
        props += "<w:b/><w:bCs/>"
    if run.italic:
        props += "<w:i/><w:iCs/>"
    if run.size:
        half = round(run.size * 2)
        props += f'<w:sz w:val="{half}"/><w:szCs w:val="{half}"/>'
    if run.underline:
        props += '<w:u w:val="single"/>'
    return f'<w:r><w:rPr>{props}</w:rPr><w:t xml:space="preserve">{_x(run.text)}</w:t></w:r>'


def para_xml(*runs: Run, align: str = "center", before_pt: float = 0, after_pt: float = 0) -> str:
    """A table-cell paragraph: no first-line indent and no spacing unless asked (Normal's
    are for running text)."""
    return (
        f'<w:p><w:pPr><w:spacing w:before="{round(before_pt * 20)}" '
        f'w:after="{round(after_pt * 20)}" w:line="240" w:lineRule="auto"/>'
        f'<w:ind w:firstLine="0"/><w:jc w:val="{align}"/></w:pPr>'
        f"{''.join(_run_xml(r) for r in runs)}</w:p>"
    )


def rule_xml(cell_mm: float, rule_mm: float) -> str:
    """A short centred line under the issuing body's name, as the decree draws it."""
    side = _twips((cell_mm - rule_mm) / 2)
    return (
        '<w:p><w:pPr><w:pBdr><w:bottom w:val="single" w:sz="6" w:space="1" w:color="000000"/>'
        '</w:pBdr><w:spacing w:before="0" w:after="0" w:line="80" w:lineRule="exact"/>'
        f'<w:ind w:left="{side}" w:right="{side}" w:firstLine="0"/></w:pPr></w:p>'
    )


def cell_xml(width_mm: float, paragraphs: str, *, span: int = 1) -> str:
    merged = f'<w:gridSpan w:val="{span}"/>' if span > 1 else ""
    return (
        f'<w:tc><w:tcPr><w:tcW w:w="{_twips(width_mm)}" w:type="dxa"/>{merged}</w:tcPr>'
        f"{paragraphs or para_xml()}</w:tc>"
    )


def table_xml(
    rows: Iterable[str], widths_mm: Sequence[float], *, ruled: bool, indent_mm: float = 0
) -> str:
    """One <w:tbl>, written as text: python-docx adds rows one cell object at a time, which
    for the 5,000 bridge points of a national session takes seconds instead of tens of ms."""
    style = '<w:tblStyle w:val="TableGrid"/>' if ruled else ""
    borders = (
        ""
        if ruled
        else "<w:tblBorders>"
        + "".join(
            f'<w:{side} w:val="nil"/>'
            for side in ("top", "left", "bottom", "right", "insideH", "insideV")
        )
        + "</w:tblBorders>"
    )
    margins = (
        ""
        if ruled
        else '<w:tblCellMar><w:left w:w="0" w:type="dxa"/>'
        '<w:right w:w="0" w:type="dxa"/></w:tblCellMar>'
    )
    grid = "".join(f'<w:gridCol w:w="{_twips(w)}"/>' for w in widths_mm)
    return (
        f"<w:tbl {W_NS}><w:tblPr>{style}"
        f'<w:tblW w:w="{_twips(sum(widths_mm))}" w:type="dxa"/>'
        f'<w:tblInd w:w="{_twips(indent_mm)}" w:type="dxa"/>{borders}'
        f'<w:tblLayout w:type="fixed"/>{margins}'
        '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" '
        'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/>'
        f"</w:tblPr><w:tblGrid>{grid}</w:tblGrid>{''.join(rows)}</w:tbl>"
    )


def grid_rows(table: Table) -> list[str]:
    """The rows of a ruled table at 12 pt, its header row repeated on every page."""
    widths = table.widths_mm
    size = 12

    def cell(index: int, text: str, *, bold: bool = False) -> str:
        align = "center" if index in table.centred or bold else "left"
        first, _, rest = text.partition("\n")
        paragraphs = para_xml(Run(first, bold=bold, size=size), align=align)
        if rest:
            paragraphs += para_xml(Run(rest, italic=True, size=11), align=align)
        return cell_xml(widths[index], paragraphs)

    def row(cells: Sequence[str], *, bold: bool = False) -> str:
        if len(cells) == 1:  # a group heading across the table
            heading = para_xml(Run(cells[0], bold=True, size=size), align="left")
            return (
                "<w:tr><w:trPr><w:cantSplit/></w:trPr>"
                f"{cell_xml(sum(widths), heading, span=len(widths))}</w:tr>"
            )
        return (
            "<w:tr><w:trPr><w:cantSplit/></w:trPr>"
            + "".join(cell(i, c, bold=bold) for i, c in enumerate(cells))
            + "</w:tr>"
        )

    header = (
        "<w:tr><w:trPr><w:tblHeader/><w:cantSplit/></w:trPr>"
        + "".join(cell(i, c, bold=True) for i, c in enumerate(table.columns))
        + "</w:tr>"
    )
    rows = [header, *(row(cells) for cells in table.rows)]
    if table.total:
        rows.append(row(table.total, bold=True))
    return rows


def styled_xml(style_id: str, *runs: Run, more: str = "") -> str:
    """A body paragraph in a named style ("" is Normal); `more` adds paragraph properties
    that follow the style in schema order (<w:pageBreakBefore/>, <w:spacing/>)."""
    ppr = (f'<w:pStyle w:val="{style_id}"/>' if style_id else "") + more
    return (
        f"<w:p>{f'<w:pPr>{ppr}</w:pPr>' if ppr else ''}"
        f"{''.join(_run_xml(r) for r in runs if r.text)}</w:p>"
    )
