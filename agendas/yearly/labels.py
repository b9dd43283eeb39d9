"""The year at a glance's translated labels."""

from __future__ import annotations

from meetings.core.labels import N_

#: Each measure of the year (stats.MEASURES), as tables, charts and files name it.
MEASURE_LABELS = {
    "attended": N_("Attendance"),
    "rsvp_on_time": N_("RSVPs on time"),
    "reports_on_time": N_("Reports on time"),
    "answered": N_("Recommendations answered"),
    "actions_on_time": N_("Actions done on time"),
}
#: What each rate counts, out of what: (count's label, whole's label).
COUNT_LABELS = {
    "attended": (N_("attended"), N_("invited")),
    "rsvp_on_time": (N_("answered on time"), N_("invited")),
    "reports_on_time": (N_("sent on time"), N_("owed")),
    "answered": (N_("answered"), N_("raised")),
    "actions_on_time": (N_("on time"), N_("due")),
}
