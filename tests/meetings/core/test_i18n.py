"""Translations: every UI message has Vietnamese, and dates read as Vietnamese offices write."""

from __future__ import annotations

from datetime import UTC, date, datetime

from babel.messages.pofile import read_po

from meetings.core.i18n import LOCALE_DIR, extract_messages, format_day, format_moment, translations


def test_every_message_in_the_ui_has_a_vietnamese_translation():
    used = extract_messages()
    assert len(used) > 100
    with (LOCALE_DIR / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    untranslated = sorted(
        f"{msgid!r} ({places[0]})"
        for msgid, places in used.items()
        if catalog.get(msgid) is None or not catalog.get(msgid).string
    )
    assert untranslated == [], "run scripts/update_catalogs.py and translate: " + ", ".join(
        untranslated
    )


def test_placeholders_survive_translation():
    vietnamese = translations("vi").gettext(
        "Imported: {created} new, {updated} changed, {unchanged} unchanged."
    )
    assert vietnamese.format(created=3, updated=1, unchanged=48) == (
        "Đã nhập: 3 mới, 1 thay đổi, 48 không đổi."
    )


def test_dates_in_vietnamese_and_english():
    assert format_day(date(2024, 4, 19), "vi") == "Thứ Sáu, 19/04/2024"
    assert format_day(date(2024, 4, 19), "en") == "Friday, 19/04/2024"
    start = datetime(2024, 4, 19, 1, 0, tzinfo=UTC)
    assert format_moment(start, "vi", "Asia/Ho_Chi_Minh") == "08:00 Thứ Sáu, 19/04/2024"
