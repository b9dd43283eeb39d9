"""HTML forms: from posted fields to the API's models, and from errors back to fields.

The pages validate with the same pydantic models as the API, so a rule lives in one
place; this module only translates between form fields and those models, and turns
errors into per-field messages in the page's language.
"""

from __future__ import annotations

from typing import Any

from meetings.core.forms import FormData, optional_int, rows, text

SITE_FIELDS = (
    "code",
    "name",
    "province",
    "cluster_id",
    "timezone",
    "address",
    "endpoint",
    "locale",
)


CONTACT_FIELDS = ("name", "title", "email", "phone", "role")


def site_values(form: FormData) -> dict[str, Any]:
    """The site form as the API's body: empty optional fields become None or are left out."""
    values: dict[str, Any] = {name: text(form, name) for name in SITE_FIELDS}
    values["cluster_id"] = optional_int(form, "cluster_id")
    values["timezone"] = values["timezone"] or None
    values["locale"] = values["locale"] or None
    values["contacts"] = rows(
        form, "contact", CONTACT_FIELDS, keys=("name", "title", "email", "phone")
    )
    return values
