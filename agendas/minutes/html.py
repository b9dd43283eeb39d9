"""The minutes as a print-ready HTML document: the page users open, and the PDF's source."""

from __future__ import annotations

import jinja2
from markupsafe import Markup, escape

from agendas.minutes.data import MinutesData
from agendas.minutes.parts import Table
from agendas.minutes.view import MinutesView, minutes_view
from meetings.core.i18n import document_environment, translations


def environment() -> jinja2.Environment:
    """The template environment of agendas/ documents, with gettext as in notify/."""
    return document_environment()


def to_html(data: MinutesData, *, locale: str) -> str:
    """A complete, print-ready HTML document (A4, Decree 30 layout); also the PDF's source."""
    return render_view(minutes_view(data, locale=locale), locale=locale)


def render_view(view: MinutesView, *, locale: str) -> str:
    """The document of minutes already worded (the PDF words them once for both engines)."""
    return (
        environment()
        .get_template("minutes/minutes.html")
        .render(view=view, locale=locale, translations=translations(locale), grid_rows=grid_rows)
    )


def grid_rows(table: Table) -> Markup:
    """A table's rows as the template's `grid` lays them out: a row of one cell is a group
    heading across the table, a cell's second line (a site's officials) goes smaller below.

    Written here rather than in the template: the attached list of a national session
    has 10,000 rows and 40,000 cells, which Jinja's loop and macro calls took 0.3 s to
    write, a third of the download."""
    span = len(table.columns)
    out: list[str] = []
    for row in table.rows:
        if len(row) == 1:
            out.append(f'\n  <tr class="group"><td colspan="{span}">{escape(row[0])}</td></tr>')
            continue
        cells = []
        for index, cell in enumerate(row):
            first, _, rest = cell.partition("\n")
            opening = '<td class="centred">' if index in table.centred else "<td>"
            below = f'<div class="officials">{escape(rest)}</div>' if rest else ""
            cells.append(f"{opening}{escape(first)}{below}</td>")
        out.append("\n  <tr>" + "".join(cells) + "</tr>")
    return Markup("".join(out))  # noqa: S704 (every text escaped above)
