"""The names of mail kinds, statuses and headers as the pages show them (translated where
shown)."""

from __future__ import annotations

from meetings.core.labels import N_

MESSAGE_KIND_LABELS = {
    "invitation": N_("Invitation"),
    "update": N_("Update"),
    "cancellation": N_("Cancellation"),
    "reminder": N_("Reminder"),
    "rsvp_chaser": N_("Reply reminder"),
    "rehearsal": N_("Rehearsal notice"),
    "minutes": N_("Notice of conclusions"),
    "minutes_ready": N_("Draft minutes ready"),
    "declinecounter": N_("Proposed time declined"),
    "rec_answer": N_("Answer to a recommendation"),
    "action_chase": N_("Overdue action item"),
    "report_chaser": N_("Report reminder"),
}


MESSAGE_STATUS_LABELS = {
    "queued": N_("Queued"),
    "sending": N_("Sending"),
    "sent": N_("Sent"),
    "failed": N_("Failed"),
    "skipped": N_("Skipped"),
    "bounced": N_("Bounced"),
}


#: The headers the mail viewer shows, in order, with their labels.
MAIL_HEADER_LABELS = {
    "From": N_("From"),
    "To": N_("To"),
    "Subject": N_("Subject"),
    "Date": N_("Sent on"),
    "Message-ID": N_("Message ID"),
}
