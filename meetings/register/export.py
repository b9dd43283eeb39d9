"""The register exported as the CSV file the import reads, for editing in a spreadsheet."""

from __future__ import annotations

import csv
import io

from sqlalchemy.ext.asyncio import AsyncSession

from meetings.core.spreadsheets import protect
from meetings.register import sites
from meetings.register.rows import CONTACT_FIELDS, SITE_COLUMNS


def export_header(contact_groups: int) -> list[str]:
    return [*SITE_COLUMNS] + [
        f"contact{n}_{f}" for n in range(1, contact_groups + 1) for f in CONTACT_FIELDS
    ]


async def export_sites_csv(session: AsyncSession) -> bytes:
    """Every site in register order, in the format `import_sites` reads (UTF-8 with BOM,
    so that Excel shows Vietnamese correctly); a cell a spreadsheet would run as a formula
    is quoted, and the import takes the quote off again."""
    register = await sites.all_sites(session)
    # At least one contact group, so that the export of an empty register is a template.
    groups = max([1, *(len(s.contacts) for s in register)])
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(export_header(groups))
    for site in register:
        cells = [
            site.code,
            site.name,
            site.province,
            site.cluster_code or "",
            site.timezone or "",
            site.address,
            site.endpoint,
            site.locale or "",
        ]
        for contact in site.contacts:
            cells += [contact.name, contact.title, contact.email, contact.phone, contact.role]
        cells += [""] * (len(CONTACT_FIELDS) * (groups - len(site.contacts)))
        writer.writerow([protect(cell) for cell in cells])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")
