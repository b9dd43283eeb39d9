"""The minutes as PDF, the copy the chair signs (WeasyPrint loads on first use)."""

from __future__ import annotations

from agendas.minutes.data import MinutesData
from agendas.minutes.html import to_html
from meetings.core.admin_format import html_to_pdf

PDF_TYPE = "application/pdf"


def to_pdf(data: MinutesData, *, locale: str) -> bytes:
    """The minutes as PDF with Liberation Serif embedded. Blocking: run it in a thread."""
    return html_to_pdf(to_html(data, locale=locale))
