"""Translations (gettext catalogs, compiled with Babel at start-up) and locale formatting."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from babel.dates import format_date, format_datetime, get_timezone_location
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from jinja2 import pass_context
from jinja2.runtime import Context

from meetings.core.settings import LOCALES

#: A translation function: an English msgid in, the text in the reader's language out.
Gettext = Callable[[str], str]
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
#: Packages whose templates and code carry UI or e-mail text.
TRANSLATED_PACKAGES = ("meetings", "notify", "scheduler", "agendas")
#: The parts that keep templates, each under its own prefix (`planning/session.html`).
TEMPLATE_PACKAGES = (
    "meetings.core",
    "meetings.accounts",
    "meetings.register",
    "meetings.planning",
    "meetings.attendance",
    "agendas.programme",
    "agendas.record",
    "agendas.minutes",
    "agendas.yearly",
    "notify.mail",
    "notify.inbound",
    "notify.site",
    "scheduler",
)
#: Pattern for a day in the UI: "Thứ Sáu, 19/04/2024" / "Friday, 19/04/2024".
DAY_PATTERN = "EEEE, dd/MM/yyyy"


@cache
def translations(locale: str) -> Translations:
    """The compiled catalog for `locale`; English msgids are the fallback for any gap."""
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.is_file():
        return Translations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def pick_locale(*candidates: str | None, default: str) -> str:
    for candidate in candidates:
        if candidate and candidate[:2].lower() in LOCALES:
            return candidate[:2].lower()
    return default


@pass_context
def ctx_gettext(context: Context, message: str) -> str:
    return str(context["translations"].gettext(message))


@pass_context
def ctx_ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return str(context["translations"].ngettext(singular, plural, n))


def format_day(value: date | datetime | None, locale: str, tz: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime) and tz:
        value = value.astimezone(ZoneInfo(tz))
    return format_date(value, DAY_PATTERN, locale=locale)


def format_moment(value: datetime | None, locale: str, tz: str) -> str:
    """A time with its day, in the given zone: "08:00 Thứ Sáu, 19/04/2024"."""
    if value is None:
        return ""
    return format_datetime(value, f"HH:mm {DAY_PATTERN}", tzinfo=ZoneInfo(tz), locale=locale)


def format_zone(zone: str | None, locale: str, at: datetime | None = None) -> str:
    """A time zone as a reader names it, with its offset at `at` (now by default):
    "Giờ Việt Nam (UTC+7)" / "Vietnam Time (UTC+7)", never "Asia/Ho_Chi_Minh"."""
    if not zone:
        return ""
    try:
        tzinfo = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return zone
    moment = (at or datetime.now(UTC)).astimezone(tzinfo)
    minutes = int((moment.utcoffset() or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    offset = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "") if minutes else "UTC"
    if zone in ("UTC", "Etc/UTC", "Etc/GMT", "GMT"):
        return offset
    return f"{get_timezone_location(tzinfo, locale=locale)} ({offset})"


def format_count(value: Any, locale: str) -> str:
    return format_decimal(value, locale=locale)


def extract_messages() -> dict[str, list[str]]:
    """Every msgid in the templates and the code, with where it is used (for catalogs).

    Templates call `_("…")`; Python calls `_(request, "…")`, `gettext("…")` or marks a
    msgid with `N_("…")`, hence two extraction passes with different keyword specs.
    """
    from babel.messages.extract import extract_from_dir

    root = Path(__file__).resolve().parents[2]
    passes = (
        (
            [("**/templates/**.html", "jinja2"), ("**/templates/**.txt", "jinja2")],
            {"_": None, "gettext": None, "ngettext": (1, 2)},
        ),
        ([("**.py", "python")], {"_": (2,), "gettext": None, "N_": None}),
    )
    options = {
        pattern: {"extensions": "jinja2.ext.i18n"}
        for pattern in ("**/templates/**.html", "**/templates/**.txt")
    }
    found: dict[str, list[str]] = {}
    for package in TRANSLATED_PACKAGES:
        for method_map, keywords in passes:
            for filename, lineno, message, _comments, _context in extract_from_dir(
                root / package, method_map, options_map=options, keywords=keywords
            ):
                messages = message if isinstance(message, tuple) else (message,)
                for msgid in messages:
                    if msgid:
                        found.setdefault(msgid, []).append(f"{package}/{filename}:{lineno}")
    return found


@cache
def template_loader() -> jinja2.BaseLoader:
    """Every part's templates; names carry the part's prefix, so they never collide."""
    return jinja2.ChoiceLoader([jinja2.PackageLoader(p, "templates") for p in TEMPLATE_PACKAGES])


def install_gettext(env: jinja2.Environment) -> None:
    """Gettext per render; the i18n extension adds this method at run time, unseen by mypy."""
    env.install_gettext_callables(ctx_gettext, ctx_ngettext, newstyle=True)  # type: ignore[attr-defined]


@cache
def document_environment() -> jinja2.Environment:
    """Templates of documents and e-mails (not pages): gettext per render
    (`translations` in the context), strict about missing values, and the shared parts
    under meetings/core (the Decree 30 header block)."""
    env = jinja2.Environment(
        loader=template_loader(),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    install_gettext(env)
    env.filters["zone"] = format_zone
    return env
