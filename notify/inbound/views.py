"""Organiser pages of notify.inbound: the session page's panel of mail from the sites
(with the proposals of another time to accept or decline), the inbox of a session, the
inbox of mail naming no session, and the dashboard's line about them.

The panel and the dashboard section reach the session page and the dashboard through
`meetings.core.keys.panels_key` and `dashboard_key` (wired in the composition root).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from meetings.accounts.models import User
from meetings.core.access import ORGANISERS, allow, current_user
from meetings.core.errors import DomainError, Invalid
from meetings.core.forms import optional_int
from meetings.core.i18n import format_day, format_moment
from meetings.core.keys import locale_key, settings_key, translations_key
from meetings.core.labels import N_
from meetings.core.pages import _, flash, render
from meetings.core.problems import in_language, problem_text
from meetings.core.scope import acts_as
from meetings.core.web import db, int_query, path_id, url
from meetings.planning.lifecycle import get_meeting, get_meeting_row
from meetings.planning.models import MeetingPublic
from meetings.planning.phases import ranks
from meetings.planning.workdays import day_off_label
from notify.inbound import counters, inbox, strangers
from notify.inbound.labels import FILTERS, KIND_LABELS, outcome_label
from notify.mail.keys import wake_key

#: The latest e-mails the session page shows; the inbox pages through all of them.
LATEST = 5
#: E-mails per page of an inbox.
PAGE_SIZE = 50
TEMPLATE = "inbound/inbox_panel.html"
#: The panel stands after the invitations; first of all while a proposal waits.
RANKS = ranks(70, 45, 50, 90, 90, 95, 95, cancelled=90)
URGENT_RANKS = ranks(5, 5, 5, 90, 90, 95, 95, cancelled=90)
HIDDEN = ranks(None, None, None, None, None, None, None, cancelled=None)


def may_read(request: web.Request) -> bool:
    """Organisers (and admins) read the mail the sites send and decide proposals."""
    user = current_user(request)
    return user is not None and acts_as(request, ORGANISERS)


def span(starts_at: datetime, ends_at: datetime, locale: str, tz: str) -> str:
    """A time span as people say it: "14:00–16:00 Thứ Sáu, 19/04/2024" (a span over
    midnight names both days)."""
    if format_day(starts_at, locale, tz) == format_day(ends_at, locale, tz):
        day = format_day(starts_at, locale, tz)
        start, end = format_moment(starts_at, locale, tz)[:5], format_moment(ends_at, locale, tz)
        return f"{start}–{end[:5]} {day}"
    return f"{format_moment(starts_at, locale, tz)} – {format_moment(ends_at, locale, tz)}"


def _labels() -> dict[str, Any]:
    return {
        "kinds": KIND_LABELS,
        "outcome_label": outcome_label,
        "filters": FILTERS,
    }


async def inbox_panel(request: web.Request, meeting_id: int) -> dict[str, Any]:
    """What the sites sent about the session: the proposals waiting for a decision, the
    counts, the latest e-mails (nothing for roles that do not plan sessions)."""
    if not may_read(request):
        return {"template": TEMPLATE, "ranks": HIDDEN}
    async with db(request) as session:
        meeting = await get_meeting_row(session, meeting_id)
        waiting = await inbox.pending_counters(session, meeting_id)
        counts = await inbox.filter_counts(session, meeting_id=meeting_id)
        latest = await inbox.inbox_page(session, meeting_id=meeting_id, limit=LATEST)
    listening = request.app[settings_key].inbound.enabled
    shown = RANKS if listening or counts["all"] else HIDDEN
    locale = request[locale_key]
    return {
        "template": TEMPLATE,
        "ranks": URGENT_RANKS if waiting else shown,
        "meeting_id": meeting_id,
        "version": meeting.version,
        "may_move": meeting.status in ("draft", "scheduled"),
        "current": span(meeting.starts_at, meeting.ends_at, locale, meeting.timezone),
        "counters": [
            {
                "item": item,
                "proposed": span(
                    item.proposed_starts_at, item.proposed_ends_at, locale, meeting.timezone
                )
                if item.proposed_starts_at and item.proposed_ends_at
                else "",
            }
            for item in waiting
        ],
        "counts": counts,
        "latest": latest.items,
        "tz": meeting.timezone,
        **_labels(),
    }


def _filter_name(request: web.Request) -> str:
    name = request.query.get("show", "all")
    return name if name in FILTERS else "all"


async def _inbox(request: web.Request, meeting: MeetingPublic | None) -> web.Response:
    meeting_id = meeting.id if meeting else None
    shown = _filter_name(request)
    page_number = int_query(request, "page", 1, 1, 10**6)
    async with db(request) as session:
        found = await inbox.inbox_page(
            session,
            meeting_id=meeting_id,
            only=inbox.Filter.named(shown),
            limit=PAGE_SIZE,
            offset=(page_number - 1) * PAGE_SIZE,
        )
        counts = await inbox.filter_counts(session, meeting_id=meeting_id)
    return render(
        request,
        "inbound/inbox.html",
        {
            "meeting": meeting,
            "items": found.items,
            "total": found.total,
            "counts": counts,
            "show": shown,
            "page_number": page_number,
            "page_size": PAGE_SIZE,
            "tz": meeting.timezone if meeting else request.app[settings_key].organisation.timezone,
            **_labels(),
        },
    )


@allow(*ORGANISERS)
async def session_inbox(request: web.Request) -> web.Response:
    """Every e-mail the sites sent about a session, newest first, by filter and page."""
    async with db(request) as session:
        meeting = await get_meeting(session, path_id(request))
    return await _inbox(request, meeting)


@allow(*ORGANISERS)
async def service_inbox(request: web.Request) -> web.Response:
    """The e-mails that name no session of ours, or could not be read."""
    return await _inbox(request, None)


# --- proposals of another time ----------------------------------------------------------


def _username(request: web.Request) -> str:
    user = current_user(request)
    return user.username if user else ""


def _refusal(request: web.Request, exc: DomainError) -> str:
    """Why a decision was refused, in the page's language."""
    gettext = request[translations_key].gettext
    if isinstance(exc, Invalid) and exc.problems:
        said = "; ".join(dict.fromkeys(problem_text(p, gettext) for p in exc.problems))
    elif exc.template is not None:
        said = in_language(exc.template, gettext, N_("This cannot be done.")).format(
            **dict(exc.params)
        )
    else:
        said = in_language(exc.message, gettext, N_("This cannot be done."))
    return _(request, "Not done: {details}").format(details=said)


def _back(request: web.Request, meeting_id: int) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(url(request, "session", id=meeting_id, fragment="inbox"))


def _day_notes(request: web.Request, meeting: MeetingPublic) -> list[str]:
    """A note for each weekend day or public holiday the moved session falls on."""
    locale = request[locale_key]
    return [
        _(request, "Note: {day} is not a working day ({name}).").format(
            day=format_day(w.day, locale), name=day_off_label(w.day, locale)
        )
        for w in meeting.warnings
        if w.code == "non_working_day" and w.day
    ]


@allow(*ORGANISERS)
async def accept_counter(request: web.Request) -> web.Response:
    """The panel's Accept: the session moves to the proposed time, updates are queued."""
    meeting_id = path_id(request)
    form = await request.post()
    try:
        async with db(request) as session:
            done = await counters.accept_counter(
                session,
                meeting_id,
                path_id(request, "inbound_id"),
                version=optional_int(form, "version") or 0,
                by=_username(request),
                secret_key=request.app[settings_key].security.secret_key,
            )
    except DomainError as exc:
        await flash(request, _refusal(request, exc))
        raise _back(request, meeting_id) from None
    request.app[wake_key].set()
    meeting = done.meeting
    moved = _(request, "The session was moved to {when}. {count} updates queued.").format(
        when=span(meeting.starts_at, meeting.ends_at, request[locale_key], meeting.timezone),
        count=done.queued.total,
    )
    await flash(request, " ".join([moved, *_day_notes(request, meeting)]))
    raise _back(request, meeting_id)


@allow(*ORGANISERS)
async def decline_counter(request: web.Request) -> web.Response:
    """The panel's Decline: the session keeps its time, the proposer is told."""
    meeting_id = path_id(request)
    try:
        async with db(request) as session:
            message = await counters.decline_counter(
                session, meeting_id, path_id(request, "inbound_id"), by=_username(request)
            )
    except DomainError as exc:
        await flash(request, _refusal(request, exc))
        raise _back(request, meeting_id) from None
    request.app[wake_key].set()
    await flash(
        request,
        _(request, "Declined: {recipient} will be told the session keeps its time.").format(
            recipient=message.recipient
        ),
    )
    raise _back(request, meeting_id)


# --- answers from unknown addresses ----------------------------------------------------


async def _stranger_page(
    request: web.Request, meeting_id: int, inbound_id: int, *, problem: str = "", status: int = 200
) -> web.Response:
    async with db(request) as session:
        meeting = await get_meeting(session, meeting_id)
        row = await strangers.get_stranger(session, meeting_id, inbound_id)
        choices = await strangers.invited_choices(session, meeting_id)
    return render(
        request,
        "inbound/apply_stranger.html",
        {
            "meeting": meeting,
            "item": row,
            "choices": choices,
            "problem": problem,
            "tz": meeting.timezone,
            **_labels(),
        },
        status=status,
    )


@allow(*ORGANISERS)
async def stranger_form(request: web.Request) -> web.Response:
    """ "Apply to a site…": the answer from an unknown address, and the invited sites to
    choose the one it speaks for."""
    return await _stranger_page(request, path_id(request), path_id(request, "inbound_id"))


@allow(*ORGANISERS)
async def apply_stranger(request: web.Request) -> web.Response:
    """The chosen site's answer becomes the stranger's; back to the session's inbox."""
    meeting_id, inbound_id = path_id(request), path_id(request, "inbound_id")
    form = await request.post()
    try:
        async with db(request) as session:
            done = await strangers.apply_stranger(
                session,
                meeting_id,
                inbound_id,
                site_id=optional_int(form, "site_id") or 0,
                by=_username(request),
            )
    except Invalid as exc:  # no site chosen, or one not invited: choose again
        return await _stranger_page(
            request, meeting_id, inbound_id, problem=_refusal(request, exc), status=422
        )
    except DomainError as exc:  # decided meanwhile
        await flash(request, _refusal(request, exc))
        raise web.HTTPSeeOther(url(request, "session_inbox", id=meeting_id)) from None
    said = (
        _(request, "The answer was applied to {site}.")
        if done.mail.outcome == "applied"
        else _(request, "{site} has a newer answer: this one was recorded, not applied.")
    )
    await flash(request, said.format(site=done.mail.site_name or ""))
    raise web.HTTPSeeOther(url(request, "session_inbox", id=meeting_id))


# --- the dashboard -----------------------------------------------------------------------


async def organiser_sections(request: web.Request, user: User) -> list[dict[str, Any]]:
    """For organisers: sessions with proposals waiting, and the mail naming no session."""
    if user.role not in ORGANISERS:
        return []
    async with db(request) as session:
        waiting = await inbox.pending_counter_sessions(session)
        unmatched = (await inbox.filter_counts(session, meeting_id=None))["all"]
    if not (waiting or unmatched or request.app[settings_key].inbound.enabled):
        return []
    return [
        {
            "template": "inbound/dashboard_inbox.html",
            "order": 15,
            "waiting": waiting,
            "unmatched": unmatched,
        }
    ]
