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
