"""Fill Vietnamese translations from a JSON file {msgid: msgstr} (only empty entries).

.venv/bin/python scripts/translate.py new.json
"""

from __future__ import annotations

import json
import sys

from babel.messages.pofile import read_po, write_po

from meetings.core.i18n import DOMAIN, LOCALE_DIR

path = LOCALE_DIR / "vi" / "LC_MESSAGES" / f"{DOMAIN}.po"
catalog = read_po(path.open("rb"), locale="vi")
given = json.loads(open(sys.argv[1], encoding="utf-8").read())
for message in catalog:
    if message.id in given and not message.string:
        message.string = given[message.id]
with path.open("wb") as handle:
    write_po(handle, catalog, width=100, omit_header=False)
print("left untranslated:", [m.id for m in catalog if m.id and not m.string])
