"""HTML forms: from posted fields to the API's models, and from errors back to fields.

The pages validate with the same pydantic models as the API, so a rule lives in one
place; this module only translates between form fields and those models, and turns
errors into per-field messages in the page's language.
"""

from __future__ import annotations

from meetings.core.labels import N_

#: What a site (or the hall) said, as the record and the minutes name it.
RECOMMENDATION_STATUS_LABELS = {
    "open": N_("Open"),
    "answered": N_("Answered"),
    "closed": N_("Closed"),
}


CONTRIBUTION_KIND_LABELS = {
    "report": N_("Report"),
    "opinion": N_("Opinion"),
    "recommendation": N_("Recommendation"),
    "question": N_("Question"),
}

#: An action item's status (overdue is derived from its due date, never stored).
ACTION_STATUS_LABELS = {
    "open": N_("Not started"),
    "in_progress": N_("In progress"),
    "done": N_("Done"),
    "overdue": N_("Overdue"),
}

#: Where a site's progress report on an action item stands.
REPORT_STATUS_LABELS = {
    "submitted": N_("Awaiting review"),
    "accepted": N_("Report accepted"),
    "returned": N_("Report returned"),
}

#: How an item carried from an earlier session stands (action items, recommendations).
CARRIED_STATE_LABELS = {
    "open": N_("Not started"),
    "in_progress": N_("In progress"),
    "done": N_("Done"),
    "overdue": N_("Overdue"),
    "answered": N_("Answered"),
    "closed": N_("Closed"),
    "still_open": N_("Still open"),
}
