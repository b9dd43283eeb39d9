"""HTML forms: from posted fields to the API's models, and from errors back to fields.

The pages validate with the same pydantic models as the API, so a rule lives in one
place; this module only translates between form fields and those models, and turns
errors into per-field messages in the page's language.
"""

from __future__ import annotations

from meetings.core.labels import N_

AGENDA_KIND_LABELS = {
    "opening": N_("Opening"),
    "report": N_("Report"),
    "discussion": N_("Discussion"),
    "conclusion": N_("Conclusion"),
    "other": N_("Other"),
}


FOCUS_STATUS_LABELS = {
    "new": N_("New"),
    "ongoing": N_("Ongoing"),
    "done": N_("Done"),
    "dropped": N_("Dropped"),
}
