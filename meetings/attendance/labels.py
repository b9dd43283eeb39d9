"""HTML forms: from posted fields to the API's models, and from errors back to fields.

The pages validate with the same pydantic models as the API, so a rule lives in one
place; this module only translates between form fields and those models, and turns
errors into per-field messages in the page's language.
"""

from __future__ import annotations

from meetings.core.labels import N_

ATTENDANCE_LABELS = {
    "connected": N_("Connected"),
    "present": N_("Present"),
    "late": N_("Late"),
    "left": N_("Left"),
    "absent": N_("Absent"),
    "technical_issue": N_("Technical issue"),
}


REHEARSAL_LABELS = {
    "tested": N_("Rehearsal: tested"),
    "ok": N_("Rehearsal: OK"),
    "problem": N_("Rehearsal: problem"),
}
