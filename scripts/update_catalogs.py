"""Bring the gettext catalogs in line with the code: add new msgids, drop unused ones.

    .venv/bin/python scripts/update_catalogs.py

Existing translations are kept. A new msgid gets an empty Vietnamese translation, which
tests/meetings/core/test_i18n.py reports until someone translates it.
"""

from __future__ import annotations

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from meetings.core.i18n import DOMAIN, LOCALE_DIR, extract_messages
from meetings.core.settings import LOCALES


def update(locale: str, messages: dict[str, list[str]]) -> None:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    old = read_po(path.open("rb"), locale=locale) if path.is_file() else Catalog(locale=locale)
    catalog = Catalog(locale=locale, project="giaoban", charset="utf-8", fuzzy=False)
    for msgid, places in sorted(messages.items()):
        existing = old.get(msgid)
        catalog.add(
            msgid,
            existing.string if existing else "",
            locations=[(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in places],
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False)
    missing = [m for m in messages if not catalog.get(m).string]
    if locale == "en":  # the msgids are English: an empty translation shows the msgid
        print(f"en: {len(messages)} messages (English msgids are the text)")
    else:
        print(f"{locale}: {len(messages)} messages, {len(missing)} untranslated")


if __name__ == "__main__":
    found = extract_messages()
    for code in LOCALES:
        update(code, found)
