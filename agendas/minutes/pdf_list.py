"""The attached list of bridge points drawn straight into the minutes' PDF.

WeasyPrint lays out a table row in about 3 ms and even a plain line of text in about
0.5 ms (CPU, measured on this machine): a national session's 10,000 bridge points took
30 s as a table and would still take 5 s as lines. The list is columns of plain text
lines, which need none of what WeasyPrint offers, so it is drawn here: the same `Table`
the HTML and Word renderings lay out (title, note, column headings repeated on every
page, a cluster's name across the columns, a site's officials in italics below its name,
the total), in the minutes' font and sizes, as pages that `pdf.to_pdf` appends to the
document WeasyPrint made of the minutes (its `finisher`), each with its page number and
the draft mark as the minutes' other pages have them. A few milliseconds a page.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import pydyf

from agendas.minutes.parts import Attachment, Table
from agendas.minutes.pdf_fonts import Face, font_file

MM = 72 / 25.4
#: The minutes' page margins (top, right, bottom, left) and sizes, as in minutes.html.
MARGINS = (20 * MM, 15 * MM, 20 * MM, 30 * MM)
BODY, SMALL, TITLE, PAGE_NUMBER, MARK = 12.0, 11.0, 14.0, 13.0, 11.0
LEADING = 1.15
PADDING = 3.0
#: Where a line's baseline sits below its top, as a share of the size (the font's ascent).
ASCENT = 0.891

#: One line of a cell: style, size, text.
Line = tuple[str, float, str]


@dataclass
class Pen:
    """Writes the pages' content streams, top to bottom, a new page when one is full."""

    width: float
    height: float
    #: The column headings repeated at the top of every page: height, cells, widths.
    heading: list[tuple[float, list[list[Line]], list[float]]]
    #: The first page's number (the minutes' pages come before) and the draft mark.
    first: int = 1
    mark: str = ""
    faces: dict[str, Face] = field(default_factory=dict)
    pages: list[list[bytes]] = field(default_factory=list)
    y: float = 0.0

    def face(self, style: str) -> Face:
        if style not in self.faces:
            self.faces[style] = Face(font_file(style), f"L{len(self.faces)}")
        return self.faces[style]

    def text(self, style: str, size: float, x: float, top: float, text: str) -> None:
        face = self.face(style)
        baseline = top - size * ASCENT
        self.pages[-1].append(
            b"BT /%s %g Tf %.2f %.2f Td %s Tj ET"
            % (face.resource.encode(), size, x, baseline, face.encode(text))
        )

    def rule(self, x: float, right: float, y: float) -> None:
        self.pages[-1].append(b"%.2f %.2f m %.2f %.2f l S" % (x, y, right, y))

    def new_page(self) -> None:
        self.pages.append([b"0.5 w"])
        self._furnish()
        self.y = self.height - MARGINS[0]
        for height, cells, widths in self.heading:
            self.row(height, cells, widths=widths, centred=True, heading=True)

    def _furnish(self) -> None:
        """The page number centred in the top margin and the draft mark at its right, as
        the minutes' @page rules place them."""
        top = self.height - MARGINS[0] / 2 + PAGE_NUMBER / 2
        number = str(self.first + len(self.pages) - 1)
        centre = (self.width + MARGINS[3] - MARGINS[1]) / 2
        self.text(
            "regular",
            PAGE_NUMBER,
            centre - self.face("regular").width(number, PAGE_NUMBER) / 2,
            top,
            number,
        )
        if self.mark:
            right = self.width - MARGINS[1] - self.face("bold").width(self.mark, MARK)
            self.text("bold", MARK, right, top, self.mark)

    def page_room(self) -> float:
        """The height a fresh page has for rows, below its repeated column headings."""
        return self.height - MARGINS[0] - MARGINS[2] - sum(h + 2 for h, _c, _w in self.heading)

    def room(self, height: float) -> None:
        """A new page unless `height` fits above the bottom margin."""
        if not self.pages or self.y - height < MARGINS[2]:
            self.new_page()

    def row(
        self,
        height: float,
        cells: Sequence[Sequence[Line]],
        *,
        widths: Sequence[float] = (),
        centred: bool | frozenset[int] = False,
        heading: bool = False,
    ) -> None:
        """One row of cells (lines top to bottom), each in its column, `height` high."""
        left, right = MARGINS[3], self.width - MARGINS[1]
        columns = widths or [right - left]
        x = left
        for index, (lines, width) in enumerate(zip(cells, columns, strict=False)):
            top = self.y
            middle = centred is True or (not isinstance(centred, bool) and index in centred)
            for style, size, text in lines:
                shift = (width - self.face(style).width(text, size)) / 2 if middle else PADDING
                self.text(style, size, x + max(shift, 0), top, text)
                top -= size * LEADING
            x += width
        self.y -= height
        if heading:
            self.rule(left, right, self.y - 1)
            self.y -= 2


def wrap(face: Face, text: str, size: float, width: float) -> list[str]:
    """The text in lines no wider than `width` (words kept whole unless one is wider)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        trial = f"{line} {word}" if line else word
        if face.width(trial, size) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    return [*lines, line] if line else lines or [""]


def cell_lines(pen: Pen, text: str, width: float, style: str, size: float) -> list[Line]:
    """A cell's lines: its first line in `style`, what follows a newline smaller, in
    italics (a site's officials), both wrapped to the column."""
    first, _, rest = unicodedata.normalize("NFC", text).partition("\n")
    inner = width - 2 * PADDING
    lines = [(style, size, line) for line in wrap(pen.face(style), first, size, inner)]
    if rest:
        lines += [("italic", SMALL, line) for line in wrap(pen.face("italic"), rest, SMALL, inner)]
    return lines


def height_of(cells: Sequence[Sequence[Line]]) -> float:
    return max(sum(size * LEADING for _style, size, _text in lines) for lines in cells)


def draw_table(pen: Pen, table: Table) -> None:
    widths = [w * MM for w in table.widths_mm]
    full = pen.width - MARGINS[1] - MARGINS[3]
    laid: list[tuple[float, list[list[Line]], bool]] = []  # height, cells, a group's heading
    for row in table.rows:
        if len(row) == 1:  # a cluster's name across the columns
            cells = [cell_lines(pen, row[0], full, "bold", BODY)]
            laid.append((height_of(cells), cells, True))
            continue
        cells = [
            cell_lines(pen, text, width, "regular", BODY)
            for text, width in zip(row, widths, strict=False)
        ]
        laid.append((height_of(cells), cells, False))
    for at, (height, cells, heading) in enumerate(laid):
        if heading and table.keep_groups:
            pen.room(min(_group_height(laid, at), pen.page_room()))
        pen.room(height)
        if heading:
            pen.row(height, cells)
        else:
            pen.row(height, cells, widths=widths, centred=table.centred)
    if table.total:
        cells = [
            cell_lines(pen, text, width, "bold", BODY)
            for text, width in zip(table.total, widths, strict=False)
        ]
        pen.room(height_of(cells) + 2)
        pen.rule(MARGINS[3], pen.width - MARGINS[1], pen.y - 1)
        pen.y -= 2
        pen.row(height_of(cells), cells, widths=widths, centred=True)


def _group_height(laid: Sequence[tuple[float, object, bool]], start: int) -> float:
    """The height of the group whose heading is at `start`: it and its rows."""
    height = laid[start][0]
    for row_height, _cells, heading in laid[start + 1 :]:
        if heading:
            break
        height += row_height
    return height


def draw(pen: Pen, attachment: Attachment) -> None:
    """The attached list's pages: title and note on the first, the table from there."""
    full = pen.width - MARGINS[1] - MARGINS[3]
    pen.new_page()
    pen.y -= 18  # the title's margin in minutes.html
    for style, size, text, gap in (
        ("bold", TITLE, attachment.title, 0.0),
        ("italic", PAGE_NUMBER, attachment.note, 12.0),
    ):
        cells = [cell_lines(pen, text, full, style, size)]
        pen.row(height_of(cells) + gap, cells, centred=True)
    table = attachment.table
    widths = [w * MM for w in table.widths_mm]
    header = [
        cell_lines(pen, text, w, "bold", BODY)
        for text, w in zip(table.columns, widths, strict=False)
    ]
    pen.row(height_of(header), header, widths=widths, centred=True, heading=True)
    pen.heading = [(height_of(header), header, widths)]
    draw_table(pen, table)


def append_list(pdf: pydyf.PDF, attachment: Attachment, draft_mark: str) -> None:
    """Append the attached list's pages to `pdf` (WeasyPrint's, before it is written): the
    size of its last page, page numbers following its own, the draft mark on each."""
    last = pdf.objects[pdf.pages["Kids"][-3]]
    _x, _y, width, height = (float(v) for v in last["MediaBox"])
    pen = Pen(width, height, heading=[], first=int(pdf.pages["Count"]) + 1, mark=draft_mark)
    draw(pen, attachment)
    fonts = pydyf.Dictionary({face.resource: face.embed(pdf) for face in pen.faces.values()})
    for ops in pen.pages:
        content = pydyf.Stream(ops, compress=True)
        pdf.add_object(content)
        page = pydyf.Dictionary(
            {
                "Type": "/Page",
                "Parent": pdf.pages.reference,
                "MediaBox": pydyf.Array([0, 0, width, height]),
                "Contents": content.reference,
                "Resources": pydyf.Dictionary({"Font": fonts}),
            }
        )
        pdf.add_page(page)
