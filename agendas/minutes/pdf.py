"""The minutes as PDF, the copy the chair signs (WeasyPrint loads on first use).

WeasyPrint lays out the minutes themselves (the official form); the attached list of
bridge points, plain lines in columns that at a national session run to hundreds of
pages, is drawn by `agendas.minutes.pdf_list` onto pages appended to WeasyPrint's
document before it is written: laid out by WeasyPrint, 10,000 sites took 30 s.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from agendas.minutes.data import MinutesData
from agendas.minutes.html import render_view
from agendas.minutes.parts import Attachment
from agendas.minutes.pdf_list import append_list
from agendas.minutes.view import minutes_view
from meetings.core.admin_format import html_to_pdf

PDF_TYPE = "application/pdf"


def to_pdf(data: MinutesData, *, locale: str) -> bytes:
    """The minutes as PDF with Liberation Serif embedded. Blocking: run it in a thread."""
    view = minutes_view(data, locale=locale)
    html = render_view(dataclasses.replace(view, attachment=None), locale=locale)
    attachment = view.attachment

    def finish(_document: Any, pdf: Any) -> None:
        if attachment is not None:
            _append(pdf, attachment, view.draft_mark)

    return html_to_pdf(html, finisher=finish)


def _append(pdf: Any, attachment: Attachment, draft_mark: str) -> None:
    append_list(pdf, attachment, draft_mark)
