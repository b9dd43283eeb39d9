"""Pages of the record: the secretary's page, the minutes page, the recommendations
register and the chair's page."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from agendas.minutes.api import APPROVERS
from agendas.programme import programme
from agendas.programme.models import FocusStatus
from agendas.record import action_items, answer_views, progress, recommendations, record
from agendas.record import notes as record_notes
from agendas.record.api import RECORD_KEEPERS, author
from agendas.record.changes import AUTHOR_LABELS
from agendas.record.labels import ACTION_STATUS_LABELS, REPORT_STATUS_LABELS
from agendas.record.models import (
    ActionItemIn,
    ActionItemUpdate,
    ContributionIn,
    ContributionKind,
    RecommendationStatus,
    RecommendationUpdate,
    SiteContributionIn,
)
from meetings.attendance import tracking as attendance
from meetings.core.access import ANY_ROLE, allow, current_user, public_token
from meetings.core.errors import DomainError
from meetings.core.forms import optional_int, problems_of, text
from meetings.core.i18n import format_day
from meetings.core.keys import locale_key, settings_key, translations_key
from meetings.core.pages import _, flash, refused_site_form, render
from meetings.core.scope import acts_as
from meetings.core.web import (
    back_to_site_page,
    db,
    link_site,
    path_id,
    url,
)
from meetings.planning import lifecycle as planning
from meetings.planning.series import all_series
from meetings.planning.workdays import day_off_label
from meetings.register import sites


def _may(request: web.Request, roles: tuple[Any, ...]) -> bool:
    user = current_user(request)
    return user is not None and acts_as(request, roles)


async def _back(request: web.Request, message: str, anchor: str = "") -> web.Response:
    await flash(request, message)
    fragment = anchor.lstrip("#")
    raise web.HTTPSeeOther(url(request, "session_record", id=path_id(request), fragment=fragment))


async def _refused(request: web.Request, exc: Exception, anchor: str = "") -> web.Response:
    state = problems_of(exc, request[translations_key].gettext)
    details = "; ".join(state.errors.values()) or state.summary
    return await _back(request, _(request, "Not saved: {details}").format(details=details), anchor)


@allow(*ANY_ROLE)
async def record_page(request: web.Request) -> web.Response:
    meeting_id = path_id(request)
    async with db(request) as session:
        meeting = await planning.get_meeting(session, meeting_id)
        agenda = await programme.get_agenda(session, meeting_id)
        focus = await programme.get_focus_items(session, meeting_id)
        notes = await record_notes.notes(session, meeting_id)
        said = await record.contributions(session, meeting_id)
        todo = await record.actions(session, meeting_id)
        history = await action_items.meeting_histories(session, meeting_id)
        clusters = [  # a cluster's own meeting: its cluster only
            c for c in await sites.list_clusters(session) if meeting.cluster_id in (None, c.id)
        ]
        reports = await progress.meeting_reports(session, meeting_id)
        invited = await attendance.sites(session, meeting_id)
        totals = await attendance.summary(session, meeting_id)
        earlier = await recommendations.open_from_earlier(session, meeting_id)
    return render(
        request,
        "record/record.html",
        {
            "meeting": meeting,
            "tz": meeting.timezone,
            "agenda": agenda,
            "focus": focus,
            "notes": notes,
            "contributions": said,
            "actions": todo,
            "reports": reports,
            "report_labels": REPORT_STATUS_LABELS,
            "history": history,
            "clusters": clusters,
            "units": request.app[settings_key].office.units,
            "action_statuses": ACTION_STATUS_LABELS,
            "history_authors": AUTHOR_LABELS,
            "invited": invited,
            "summary": totals,
            "earlier": earlier,
            "kinds": list(ContributionKind),
            "focus_statuses": list(FocusStatus),
            "may_write": _may(request, RECORD_KEEPERS) and meeting.status != "cancelled",
        },
    )


@allow(*RECORD_KEEPERS)
async def record_contribution(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        data = ContributionIn.model_validate(
            {
                "site_id": optional_int(form, "site_id"),
                "speaker": text(form, "speaker"),
                "speaker_title": text(form, "speaker_title"),
                "kind": text(form, "kind") or "opinion",
                "text": str(form.get("text", "")).strip(),
                "agenda_item": optional_int(form, "agenda_item"),
                "focus_item": optional_int(form, "focus_item"),
                "topic": text(form, "topic"),
            }
        )
        async with db(request) as session:
            await record.add_contribution(
                session, path_id(request), data, source="secretary", author=author(request)
            )
    except (ValidationError, DomainError) as exc:
        return await _refused(request, exc, "#contributions")
    return await _back(request, _(request, "The contribution was recorded."), "#contributions")


@allow(*RECORD_KEEPERS)
async def delete_contribution(request: web.Request) -> web.Response:
    async with db(request) as session:
        await record.delete_contribution(
            session, path_id(request), path_id(request, "contribution_id")
        )
    return await _back(request, _(request, "The contribution was removed."), "#contributions")


@allow(*RECORD_KEEPERS)
async def record_action(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        due = text(form, "due_date")
        data = ActionItemIn(
            text=str(form.get("text", "")).strip(),
            owner=text(form, "owner"),
            owner_site_id=optional_int(form, "owner_site_id"),
            owner_cluster_id=optional_int(form, "owner_cluster_id"),
            due_date=date.fromisoformat(due) if due else None,
            due_working_days=optional_int(form, "due_working_days"),
        )
        async with db(request) as session:
            added = await record.add_action(session, path_id(request), data, by=author(request))
    except (ValueError, ValidationError, DomainError) as exc:
        if not isinstance(exc, ValidationError | DomainError):
            return await _back(request, _(request, "Enter a date"), "#actions")
        return await _refused(request, exc, "#actions")
    message = _(request, "The action item was recorded.")
    if added.due_date_moved_from and added.due_date:
        locale = request[locale_key]
        message += " " + _(
            request, "{asked} is not a working day ({name}): it is due on {due}."
        ).format(
            asked=format_day(added.due_date_moved_from, locale),
            name=day_off_label(added.due_date_moved_from, locale),
            due=format_day(added.due_date, locale),
        )
    return await _back(request, message, "#actions")


@allow(*RECORD_KEEPERS)
async def action_status(request: web.Request) -> web.Response:
    """The record page's change of an item's status (open, in progress, done), with why."""
    form = await request.post()
    try:
        data = ActionItemUpdate.model_validate(
            {"status": text(form, "status"), "note": text(form, "note")[:1000]}
        )
        async with db(request) as session:
            await action_items.update_action(
                session, path_id(request), path_id(request, "action_id"), data, by=author(request)
            )
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status == 404:
            raise
        return await _refused(request, exc, "#actions")
    return await _back(request, _(request, "The action item's status was saved."), "#actions")


@allow(*RECORD_KEEPERS)
async def delete_action(request: web.Request) -> web.Response:
    async with db(request) as session:
        await record.delete_action(session, path_id(request), path_id(request, "action_id"))
    return await _back(request, _(request, "The action item was removed."), "#actions")


@allow(*RECORD_KEEPERS)
async def record_focus(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        async with db(request) as session:
            await record_notes.set_focus_outcome(
                session,
                path_id(request),
                path_id(request, "focus_id"),
                FocusStatus(text(form, "status") or "ongoing"),
                text(form, "summary"),
            )
    except (ValueError, DomainError) as exc:
        if isinstance(exc, DomainError):
            return await _refused(request, exc, "#focus")
        return await _back(request, str(exc), "#focus")
    return await _back(request, _(request, "The outcome was saved."), "#focus")


@allow(*ANY_ROLE)
async def recommendations_page(request: web.Request) -> web.Response:
    raw = request.query.get("status", "open")
    status = RecommendationStatus(raw) if raw in RecommendationStatus.__members__ else None
    site_id = optional_int(request.query, "site")
    cluster_id = optional_int(request.query, "cluster")
    topic = request.query.get("topic", "").strip()
    unit = request.query.get("unit", "").strip()
    series_id = optional_int(request.query, "series")
    async with db(request) as session:
        items = await recommendations.recommendations(
            session,
            series_id=series_id,
            status=status,
            site_id=site_id,
            cluster_id=cluster_id,
            topic=topic or None,
            unit=unit or None,
        )
        numbers = await recommendations.answer_numbers(
            session, unit=unit or None, series_id=series_id
        )
        series = await all_series(session)
        known_units = await recommendations.units(session)
        clusters = await sites.list_clusters(session)
        all_sites = await sites.all_sites(session)
    return render(
        request,
        "record/recommendations.html",
        {
            "items": items,
            "status": raw if status else "",
            "site_id": site_id,
            "cluster_id": cluster_id,
            "topic": topic,
            "unit": unit,
            "units": known_units,
            "numbers": numbers,
            "series": series,
            "clusters": clusters,
            "sites": all_sites,
            "statuses": list(RecommendationStatus),
            "may_answer": _may(request, (*RECORD_KEEPERS, *APPROVERS)),
            "tz": request.app[settings_key].organisation.timezone,
            "nav": "recommendations",
        },
    )


@allow(*RECORD_KEEPERS, *APPROVERS)
async def answer_recommendation(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        data = RecommendationUpdate(
            status=RecommendationStatus(text(form, "status") or "answered"),
            response=str(form.get("response", "")).strip(),
            answered_by=text(form, "answered_by") or author(request),
            assigned_unit=text(form, "assigned_unit") if "assigned_unit" in form else None,
            version=optional_int(form, "version"),
        )
        document = answer_views.upload_of(request, form.get("document"))
        async with db(request) as session:
            await recommendations.update_recommendation(
                session, path_id(request), data, document=document
            )
        await flash(request, _(request, "The recommendation was updated."))
    except (ValueError, ValidationError, DomainError) as exc:
        if not isinstance(exc, ValidationError | DomainError):
            raise web.HTTPBadRequest(text=str(exc)) from None
        state = problems_of(exc, request[translations_key].gettext)
        details = "; ".join(state.errors.values()) or state.summary
        await flash(request, _(request, "Not saved: {details}").format(details=details))
    back = request.headers.get("Referer", "")
    raise web.HTTPSeeOther(
        back if back.startswith(("/", "http")) else url(request, "recommendations")
    )


# --- a site's own contribution, from its page ------------------------------------------


@public_token
async def site_contribution_submit(request: web.Request) -> web.StreamResponse:
    meeting_id = path_id(request)
    form = await request.post()
    values = {
        "speaker": text(form, "speaker"),
        "speaker_title": text(form, "speaker_title"),
        "kind": text(form, "kind") or "recommendation",
        "text": str(form.get("text", "")).strip(),
        "topic": text(form, "topic"),
    }
    try:
        data = SiteContributionIn.model_validate(values)
        async with db(request) as session:
            site = await link_site(request, session)
            await record.add_site_contribution(session, meeting_id, data, site=site)
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status in (403, 404):
            raise
        return await refused_site_form(request, exc, form="contribution", typed=values)
    raise back_to_site_page(request, meeting_id, "sent")
