"""Who attended, worded for the minutes: the participants paragraph and the attached list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from agendas.minutes.data import MinutesAttendance, MinutesData, MinutesSite
from agendas.minutes.parts import Attachment, Block, Table, in_words, person
from meetings.attendance.labels import ATTENDANCE_LABELS
from meetings.attendance.report import ABSENCE_LABELS, Absence
from meetings.core.admin_format import date_in_words
from meetings.core.i18n import Gettext
from meetings.core.labels import N_

#: A site never seen on the board has no status; the board calls it "not connected".
SITE_STATUS_LABELS: dict[str | None, str] = dict(
    [(None, N_("Not connected")), *ATTENDANCE_LABELS.items()]
)

#: Beyond this many absent sites the body gives their number and the attached list their
#: names: a national session's hundreds of names would bury the paragraph.
ABSENT_NAMED_MAX = 100


def participants(data: MinutesData, gettext: Gettext, count: Callable[[int], str]) -> list[Block]:
    """Who attended: the hall, the bridge points with their totals and clusters, the absent."""
    meeting = data.meeting
    attendance = data.attendance
    blocks = [Block("para", "", gettext("Participants:"))]
    chair = person(meeting.chair, meeting.chair_title)
    secretary = person(meeting.secretary, meeting.secretary_title)
    hall = [
        gettext("%(name)s (chair)") % {"name": chair} if chair else "",
        gettext("%(name)s (secretary)") % {"name": secretary} if secretary else "",
    ]
    if any(hall):
        blocks.append(
            Block(
                "item",
                gettext("At the central bridge point: %(people)s;")
                % {"people": "; ".join(p for p in hall if p)},
            )
        )
    if not attendance.invited:
        return blocks
    blocks.extend(_bridge_points(attendance, gettext, count))
    blocks.append(_absent(attendance, gettext, count))
    if attendance.sites:
        blocks.append(Block("item", gettext("(List of bridge points attached.)")))
    return blocks


def _bridge_points(
    attendance: MinutesAttendance, gettext: Gettext, count: Callable[[int], str]
) -> list[Block]:
    """How many bridge points connected and how many delegates, in all and per cluster."""
    total = gettext(
        "Bridge points: %(connected)s/%(invited)s connected, %(delegates)s delegates in total;"
    ) % {
        "connected": count(attendance.connected),
        "invited": count(attendance.invited),
        "delegates": count(attendance.delegates_present),
    }
    return [Block("item", total)] + [
        Block(
            "subitem",
            gettext(
                "%(cluster)s: %(connected)s/%(invited)s bridge points, %(delegates)s delegates;"
            )
            % {
                "cluster": cluster.name or gettext("Without a cluster"),
                "connected": count(cluster.connected),
                "invited": count(cluster.invited),
                "delegates": count(cluster.delegates),
            },
        )
        for cluster in attendance.clusters
    ]


def _absent(attendance: MinutesAttendance, gettext: Gettext, count: Callable[[int], str]) -> Block:
    """The absent bridge points by name, or only their number when there are too many."""
    if len(attendance.absent) > ABSENT_NAMED_MAX:
        return Block(
            "item",
            gettext("Absent: %(count)s bridge points, marked in the attached list.")
            % {"count": count(len(attendance.absent))},
        )
    if not attendance.absent:
        return Block("item", gettext("No bridge point was absent."))
    names = "; ".join(f"{site.name} ({_why(site, gettext)})" for site in attendance.absent)
    return Block(
        "item",
        gettext("Absent (%(count)s bridge points): %(sites)s.")
        % {"count": count(len(attendance.absent)), "sites": names},
    )


def _state(site: MinutesSite, gettext: Gettext) -> str:
    """Its state on the board, or that it declined the invitation (never seen on the board)."""
    if site.absence == Absence.declined:
        return in_words(ABSENCE_LABELS, site.absence, gettext)
    return in_words(SITE_STATUS_LABELS, site.status, gettext)


def _why(site: MinutesSite, gettext: Gettext) -> str:
    """'Vắng mặt, lý do: …': its state on the board (or that it declined), and the reason
    given, when one was."""
    state = _state(site, gettext)
    reason = " ".join(site.absence_reason.split()).rstrip(" .;")
    if not reason:
        return state
    return gettext("%(state)s, reason: %(reason)s") % {"state": state, "reason": reason}


def attached_list(
    data: MinutesData, gettext: Gettext, count: Callable[[int], str], locale: str
) -> Attachment:
    """Every invited site with its state and delegates: the full list that the participants
    paragraph refers to, so the body stays short however many bridge points there are."""
    attendance = data.attendance
    starts = data.meeting.starts_at.astimezone(ZoneInfo(data.meeting.timezone))
    rows: list[Sequence[str]] = []
    cluster: str | None = ""
    for n, site in enumerate(attendance.sites, start=1):
        if site.cluster != cluster and any(c.name for c in attendance.clusters):
            cluster = site.cluster
            rows.append((cluster or gettext("Without a cluster"),))
        rows.append(
            (
                str(n),
                site.name + ("\n" + "; ".join(site.officials) if site.officials else ""),
                _state(site, gettext),
                count(site.delegates) if site.delegates is not None else "",
            )
        )
    table = Table(
        columns=(gettext("No."), gettext("Bridge point"), gettext("Status"), gettext("Delegates")),
        widths_mm=(12, 106, 27, 20),
        rows=rows,
        centred=frozenset({0, 2, 3}),
        total=(
            "",
            gettext("Total"),
            f"{count(attendance.connected)}/{count(attendance.invited)}",
            count(attendance.delegates_present),
        ),
    )
    note = gettext("(Attached to the minutes of %(title)s, %(day)s)") % {
        "title": data.meeting.title,
        "day": date_in_words(starts.date(), locale),
    }
    return Attachment(gettext("LIST OF BRIDGE POINTS"), note, table)
