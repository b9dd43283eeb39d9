"""HTML forms: from posted fields to the API's models, and from errors back to fields.

The pages validate with the same pydantic models as the API, so a rule lives in one
place; this module only translates between form fields and those models, and turns
errors into per-field messages in the page's language.
"""

from __future__ import annotations

from meetings.core.labels import N_

KIND_LABELS = {
    "briefing": N_("Online briefing"),
    "seminar": N_("Seminar"),
    "cluster_meeting": N_("Cluster meeting"),
    "conference": N_("Conference"),
}


STATUS_LABELS = {
    "draft": N_("Draft"),
    "scheduled": N_("Scheduled"),
    "live": N_("Live"),
    "ended": N_("Ended"),
    "cancelled": N_("Cancelled"),
}


RSVP_LABELS = {
    "needs_action": N_("No answer yet"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "tentative": N_("Tentative"),
    #: Only in an answer's history: a calendar reply that handed the invitation on.
    "delegated": N_("Delegated"),
}


DEADLINE_LABELS = {
    "invitations": N_("Invitations"),
    "documents": N_("Documents"),
    "conclusions": N_("Notice of conclusions"),
}


#: Where the answer in force came from (RsvpSource), as the RSVP grid and site page say it.
RSVP_SOURCE_LABELS = {
    "site_page": N_("on the site's page"),
    "calendar": N_("via calendar"),
    "organiser": N_("by the organiser"),
}
