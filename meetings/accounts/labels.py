"""HTML forms: from posted fields to the API's models, and from errors back to fields.

The pages validate with the same pydantic models as the API, so a rule lives in one
place; this module only translates between form fields and those models, and turns
errors into per-field messages in the page's language.
"""

from __future__ import annotations

from meetings.accounts.models import Role
from meetings.core.labels import N_

#: Labels of roles, translated in templates with `_(role_labels[role])`.
ROLE_LABELS = {
    Role.admin: N_("Administrator"),
    Role.organiser: N_("Organiser"),
    Role.secretary: N_("Secretary"),
    Role.chair: N_("Chair"),
    Role.cluster_leader: N_("Cluster leader"),
}
