"""The letter's attached list of invited bridge points, drawn straight into its PDF.

WeasyPrint laid the list out as a ruled table at about 3 ms a row: for the 52 sites of the
reference session, half of what a mailing's one letter cost, and a 156-recipient mailing
sent at under half the speed of sending the ready bytes (issue #17). The list is columns
of plain lines, which `agendas.minutes.pdf_list` draws onto pages appended to the
document WeasyPrint made of the letter, as it does the minutes' list of the same sites: a
few milliseconds a page, the same look in both documents, each cluster kept whole on a
page with its count as the letter's table kept it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agendas.minutes.parts import Attachment, Table
from meetings.core.admin_format import date_in_words, html_to_pdf
from meetings.core.i18n import translations
from meetings.core.labels import N_

if TYPE_CHECKING:  # the letter module renders through this one
    from notify.mail.letter import Letter

#: The list's columns (millimetres; 165 mm is the text width on A4 with the letter's margins).
WIDTHS_MM = (12.0, 153.0)


def attached_list(letter: Letter, *, number: str, locale: str) -> Attachment | None:
    """The list attached to the letter to all the invited sites (None for a letter to one
    site): each cluster's name and count, then its sites numbered on through the list; only
    the counts when the list would be too long to print (letter.LISTED_SITES). `number`:
    the letter's, as printed."""
    if not letter.invited:
        return None
    gettext = translations(locale).gettext
    rows: list[tuple[str, ...]] = []
    listed = 0
    for group in letter.invited:
        name = group.cluster or gettext(N_("Sites in no cluster"))
        rows.append((f"{name} ({group.count})",))
        for site in group.sites:
            listed += 1
            rows.append((str(listed), site))
    total = gettext(N_("In all: %(count)s bridge points.")) % {"count": letter.bridge_point_count}
    if not letter.invited[0].sites:
        total += " " + gettext(
            N_("Each bridge point's name is on the session's list of invited sites.")
        )
    note = gettext(N_("(Attached to invitation No. %(number)s, %(day)s)")) % {
        "number": number,
        "day": date_in_words(letter.issued_on, locale),
    }
    return Attachment(
        title=gettext(N_("LIST OF INVITED BRIDGE POINTS")),
        note=note,
        table=Table(
            columns=(gettext(N_("No.")), gettext(N_("Bridge point"))),
            widths_mm=WIDTHS_MM,
            rows=tuple(rows),
            centred=frozenset({0}),
            total=("", total),
            keep_groups=True,
        ),
    )


def letter_pdf(html: str, attached: Attachment | None) -> bytes:
    """The letter (its HTML, laid out by WeasyPrint) with its list drawn after it.
    Blocking: run it in a worker thread."""
    # Imported here: fontTools' subsetter costs start-up 70 ms and 10 MB a process.
    from agendas.minutes.pdf_list import append_list

    def finish(_document: Any, pdf: Any) -> None:
        if attached is not None:
            append_list(pdf, attached, "")

    return html_to_pdf(html, finisher=finish)
