"""What the administrative documents (giấy mời, biên bản) share: dates and times as
Vietnamese offices write them, and the one way to turn their HTML into PDF.

Both documents follow Decree 30/2020/NĐ-CP and are laid out by different packages
(`notify` the letter, `agendas` the minutes); keeping the wording and the PDF rendering
here makes them read alike and keeps WeasyPrint behind a single lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

#: Days of the week as running text writes them ("thứ Sáu, ngày 19 tháng 4 năm 2024").
VI_WEEKDAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
#: WeasyPrint is not documented as thread-safe (Pango and fontconfig state is global):
#: one render at a time, whichever document, which also keeps a big mailing from taking
#: every core.
PDF_LOCK = threading.Lock()


def date_in_words(day: date, locale: str) -> str:
    """'ngày 05 tháng 02 năm 2024' / 'ngày 19 tháng 4 năm 2024' as offices write dates
    (days below 10 and months 1-2 take a leading zero, so 'tháng 1' never reads as 10-12)."""
    if locale != "vi":
        return format_date(day, "d MMMM yyyy", locale=locale)
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def clock_in_words(moment: datetime, locale: str) -> str:
    """'08 giờ 00' / '08:00'."""
    return f"{moment:%H} giờ {moment:%M}" if locale == "vi" else f"{moment:%H:%M}"


def moment_in_words(moment: datetime, locale: str, tz: str) -> str:
    """'08 giờ 00, thứ Sáu, ngày 19 tháng 4 năm 2024' / '08:00, Friday, 19 April 2024'."""
    local = moment.astimezone(ZoneInfo(tz))
    if locale != "vi":
        return format_datetime(
            local, "HH:mm, EEEE, d MMMM yyyy", tzinfo=local.tzinfo, locale=locale
        )
    weekday = VI_WEEKDAYS[local.weekday()]
    return f"{clock_in_words(local, locale)}, {weekday}, {date_in_words(local.date(), locale)}"


def html_to_pdf(html: str, finisher: Callable[[Any, Any], None] | None = None) -> bytes:
    """Blocking (60 ms and more): run it in a worker thread, never on the event loop.
    `finisher` (WeasyPrint's): what adds to the document before it is written (pages drawn
    without WeasyPrint, as agendas.minutes.pdf_list draws a long list)."""
    # Imported here: WeasyPrint takes over a second to import, which start-up need not pay.
    from weasyprint import HTML

    with PDF_LOCK:
        return bytes(HTML(string=html).write_pdf(finisher=finisher))
