"""HTML forms: from posted fields to the API's models, and from errors back to fields.

The pages validate with the same pydantic models as the API, so a rule lives in one
place; this module only translates between form fields and those models, and turns
errors into per-field messages in the page's language.
"""

from __future__ import annotations

from meetings.core.labels import N_
from meetings.register.models import ContactRole

CONTACT_ROLE_LABELS = {
    ContactRole.head: N_("Head of the union"),
    ContactRole.secretary: N_("Secretary"),
    ContactRole.technical: N_("Technical contact"),
    ContactRole.other: N_("Other"),
}

#: Why an import page refused a file, by the [imports] limit it passed (`files.OverLimit`).
LIMIT_MESSAGES = {
    "max_size_mb": N_(
        "The file is larger than {limit} MB, the most an import reads "
        "([imports] max_size_mb in the configuration)."
    ),
    "unpacked": N_(
        "The workbook unpacks to more than {limit} MB, the most an import reads "
        "(set by [imports] max_size_mb in the configuration)."
    ),
    "max_rows": N_(
        "The file has more than {limit} rows below its header, the most an import reads "
        "([imports] max_rows in the configuration). Split it into several files."
    ),
    "max_columns": N_(
        "A row of the file has more than {limit} columns, the most an import reads "
        "([imports] max_columns in the configuration)."
    ),
}
