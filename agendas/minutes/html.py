"""The minutes as a print-ready HTML document: the page users open, and the PDF's source."""

from __future__ import annotations

import jinja2

from agendas.minutes.data import MinutesData
from agendas.minutes.view import minutes_view
from meetings.core.i18n import document_environment, translations


def environment() -> jinja2.Environment:
    """The template environment of agendas/ documents, with gettext as in notify/."""
    return document_environment()


def to_html(data: MinutesData, *, locale: str) -> str:
    """A complete, print-ready HTML document (A4, Decree 30 layout); also the PDF's source."""
    view = minutes_view(data, locale=locale)
    return (
        environment()
        .get_template("minutes/minutes.html")
        .render(view=view, locale=locale, translations=translations(locale))
    )
