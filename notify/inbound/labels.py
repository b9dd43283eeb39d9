"""What the organiser reads of inbound mail: its kinds, what was done with each, and the
inbox's filters (msgids, translated where shown)."""

from __future__ import annotations

from meetings.core.labels import N_

#: What an e-mail was, by InboundKind.
KIND_LABELS = {
    "reply": N_("Calendar answer"),
    "counter": N_("Proposal of another time"),
    "bounce": N_("Bounce"),
    "plain": N_("Plain reply"),
    "unreadable": N_("Unreadable"),
}

#: What was done with it, by InboundOutcome: a sentence the organiser can act on.
OUTCOME_LABELS = {
    "applied": N_("Answer updated"),
    "stale": N_("Answer to an older version — nothing changed"),
    "stranger": N_("From an address that was not invited — not applied"),
    "unmatched": N_("Matches no session — not applied"),
    "closed": N_("The session is over or cancelled — recorded only"),
    "pending": N_("Waiting for your decision"),
    "accepted": N_("Accepted: the session was moved"),
    "declined": N_("Declined: the site was told"),
    "transient": N_("Delivery delayed — the address is kept"),
    "unreadable": N_("Could not be read — kept in the mailbox"),
}

#: What a bounce's "applied" means (a reply's "applied" is an answer updated).
BOUNCE_APPLIED = N_("The message is marked as not delivered; the address is flagged")
#: What a plain reply's "applied" means.
PLAIN_APPLIED = N_("Attached to the site")

#: The inbox's filters, in the order shown: name → (kind, outcome, label).
FILTERS: dict[str, tuple[str | None, str | None, str]] = {
    "all": (None, None, N_("All")),
    "reply": ("reply", None, N_("Calendar answers")),
    "counter": ("counter", None, N_("Proposals of another time")),
    "bounce": ("bounce", None, N_("Bounces")),
    "plain": ("plain", None, N_("Plain replies")),
    "stranger": (None, "stranger", N_("From unknown addresses")),
    "unreadable": ("unreadable", None, N_("Unreadable")),
}


def outcome_label(kind: str, outcome: str) -> str:
    """What was done with an e-mail of `kind`, as a msgid ("applied" says what it did)."""
    if outcome == "applied" and kind == "bounce":
        return BOUNCE_APPLIED
    if outcome == "applied" and kind == "plain":
        return PLAIN_APPLIED
    return OUTCOME_LABELS.get(outcome, outcome)
