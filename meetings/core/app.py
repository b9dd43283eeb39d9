"""The composition root: builds the application from settings; nothing runs at import."""

from __future__ import annotations

import asyncio
import gc
import hashlib
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from agendas.minutes import dashboard_views as minutes_dashboard
from agendas.minutes import facts as minutes_facts
from agendas.minutes import panel as minutes_panel
from agendas.minutes import routes as minutes_routes
from agendas.programme import carried_part
from agendas.programme import carried_views as carried_panel
from agendas.programme import routes as programme_routes
from agendas.programme import views as programme_views
from agendas.programme.labels import AGENDA_KIND_LABELS, FOCUS_STATUS_LABELS
from agendas.record import answer_views, cluster_views
from agendas.record import routes as record_routes
from agendas.record.labels import CONTRIBUTION_KIND_LABELS, RECOMMENDATION_STATUS_LABELS
from agendas.yearly import routes as yearly_routes
from meetings.accounts import routes as accounts_routes
from meetings.accounts.callers import Callers
from meetings.accounts.keys import callers_key, logins_key
from meetings.accounts.labels import ROLE_LABELS
from meetings.accounts.throttle import LoginsUnderWay
from meetings.attendance import live
from meetings.attendance import panel as attendance_panel
from meetings.attendance import routes as attendance_routes
from meetings.attendance.checkin import CheckInBatcher
from meetings.attendance.keys import checkin_key, hub_key
from meetings.attendance.labels import ATTENDANCE_LABELS, REHEARSAL_LABELS
from meetings.attendance.listening import listener_context
from meetings.attendance.video_poller import video_poll_context
from meetings.core import i18n
from meetings.core import routes as core_routes
from meetings.core.commits import KEPT_ANSWERS, CommitMarker, answers_key, commits_key
from meetings.core.headers import security_headers
from meetings.core.kept_pages import KEPT_SESSION_PAGES, session_pages_key
from meetings.core.keys import (
    DashboardProvider,
    FactsProvider,
    PanelProvider,
    dashboard_key,
    engine_key,
    later_key,
    link_failures_key,
    listening_key,
    panels_key,
    session_facts_key,
    sessions_key,
    settings_key,
    signals_key,
    site_form_page_key,
    site_resolver_key,
)
from meetings.core.later import Later
from meetings.core.limits import FailureWindow
from meetings.core.link_guard import site_link_guard
from meetings.core.middlewares import (
    auth_middleware,
    error_middleware,
    layout_context,
)
from meetings.core.observe import Observed, database_check, observed_key
from meetings.core.pages import KEPT_PANELS, kept_panels_key
from meetings.core.reachability import public_url_context
from meetings.core.routing import mount
from meetings.core.settings import Settings
from meetings.core.shared import Shared
from meetings.core.signals import Signals
from meetings.core.store import create_engine, session_maker
from meetings.planning import report_chases, workdays
from meetings.planning import report_views as request_views
from meetings.planning import routes as planning_routes
from meetings.planning.labels import (
    DEADLINE_LABELS,
    KIND_LABELS,
    RSVP_LABELS,
    RSVP_SOURCE_LABELS,
    STATUS_LABELS,
)
from meetings.planning.site_list import SiteLists, site_lists_key
from meetings.register import routes as register_routes
from meetings.register.labels import CONTACT_ROLE_LABELS
from notify.inbound import gauges as inbound_gauges
from notify.inbound import routes as inbound_routes
from notify.inbound import views as inbound_views
from notify.inbound.worker import inbound_context
from notify.mail import answers, chases, invitations, notices, overdue_actions
from notify.mail import dashboard_views as mail_dashboard
from notify.mail import facts as mail_facts
from notify.mail import gauges as mail_gauges
from notify.mail import routes as mail_routes
from notify.mail import views as notify_views
from notify.mail.labels import MESSAGE_KIND_LABELS, MESSAGE_STATUS_LABELS
from notify.mail.worker import delivery_context
from notify.site import routes as site_routes
from notify.site import tokens
from notify.site import views as site_views
from notify.site.overview import KEPT_PAGES, site_pages_key
from scheduler import views as scheduler_views
from scheduler.context import leading, scheduler_context
from scheduler.keys import chasers_key
from scheduler.leader import announce_plan
from scheduler.service import Chaser

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
#: Every part's routes, in the order they are mounted.
PARTS = (
    core_routes.ROUTES,
    accounts_routes.ROUTES,
    register_routes.ROUTES,
    planning_routes.ROUTES,
    planning_routes.REPORT_ROUTES,
    programme_routes.ROUTES,
    attendance_routes.ROUTES,
    record_routes.ROUTES,
    minutes_routes.ROUTES,
    yearly_routes.ROUTES,
    mail_routes.ROUTES,
    inbound_routes.ROUTES,
    site_routes.ROUTES,
)
#: The smallest body limit (a big XLSX import); larger bodies get 413.
MAX_BODY = 30 * 1024 * 1024


async def database_context(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[settings_key].database)
    app[engine_key] = engine
    app[sessions_key] = session_maker(engine, signals=app[signals_key])
    app[commits_key] = CommitMarker(engine)
    app[answers_key] = Shared(kept=KEPT_ANSWERS)
    app[site_pages_key] = Shared(kept=KEPT_PAGES)
    app[kept_panels_key] = Shared(kept=KEPT_PANELS)
    app[session_pages_key] = Shared(kept=KEPT_SESSION_PAGES)
    app[checkin_key] = CheckInBatcher(
        app[sessions_key], app[settings_key].attendance, sites_for_links=tokens.site_keys_for_tokens
    )
    yield
    app[commits_key].close()
    await engine.dispose()


#: Allocations between two passes of the collector over the youngest objects (Python: 700).
GC_YOUNG_THRESHOLD = 10_000


async def settled_heap(app: web.Application) -> AsyncIterator[None]:
    """What start-up built lives as long as the app: the collector leaves it out of its
    passes (a full pass over SQLAlchemy, Jinja and Babel's objects cost more than a
    request, issue #17), and takes it back once the app is done (tests start many apps).
    The youngest generation is collected every GC_YOUNG_THRESHOLD allocations, not 700:
    with little left in the old generation after the freeze, nearly every tenth pass of the
    middle one became a full pass over all a big request had built so far, so a 10,000-site
    export cost more than ten times a 1,000-site one (×13–17 of CPU; ×8–11 with this)."""
    thresholds = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *thresholds[1:])
    gc.freeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def receivers(*, locale: str = "vi") -> Signals:
    """Signals with every package's receivers: an app's, or a command-line run's (so a
    session cancelled from the command line still queues its cancellations); `locale` is
    the organisation's, in which agenda parts made for a session are titled."""
    signals = Signals()
    # A session created in a series starts with the agenda part on what the last left open.
    signals.meeting_changed.connect(carried_part.part_on_creation(locale))
    signals.meeting_cancelled.connect(invitations.queue_cancellations)
    signals.minutes_approved.connect(invitations.queue_minutes_notice)
    # An answered recommendation is mailed to the site that raised it.
    signals.recommendation_answered.connect(answers.queue_answer)
    # The sites chased for a report they have not sent are mailed a reminder.
    signals.report_chased.connect(chases.queue_chase)
    # The end of a session, by the scheduler or by a person: its draft minutes are announced.
    signals.minutes_due.connect(notices.announce_minutes_ready)
    signals.meeting_changed.connect(notices.announce_minutes_ready)
    # On PostgreSQL, whichever instance leads the scheduler re-plans a changed session.
    signals.meeting_changed.connect(announce_plan)
    return signals


def _observed(app: web.Application) -> None:
    """What /readyz and /metrics read (meetings.core.observe), from every part."""
    observed = app[observed_key] = Observed()
    observed.checks["database"] = database_check
    for name, text, probe in (
        ("giaoban_outbox_depth", "Messages queued or being sent", mail_gauges.outbox_depth),
        ("giaoban_board_clients", "Live boards open on this instance", live.board_clients),
        ("giaoban_scheduler_leader", "1 while this instance runs the scheduler", leading),
    ):
        observed.gauge(name, text, probe)
    for name, text, probe in (  # totals: their rates are the send, reply and bounce rates
        ("giaoban_messages_sent", "Messages sent", mail_gauges.messages_sent),
        ("giaoban_inbound_replies", "Calendar replies read", inbound_gauges.replies),
        ("giaoban_inbound_bounces", "Bounces read", inbound_gauges.bounces),
    ):
        observed.gauge(name, text, probe, total=True)


def _own_state(app: web.Application) -> None:
    """What belongs to this app alone: its receivers, its live boards fed by the attendance
    changes its sessions commit (the scheduler connects itself when it runs), its
    best-effort tasks, and its counts of logins under way and of unknown site links."""
    app[signals_key] = receivers(locale=app[settings_key].organisation.locale)
    app[hub_key] = live.Hub(
        totals=lambda meeting_id: live.committed_totals(app[sessions_key], meeting_id),
        states=lambda meeting_id, sites: live.committed_states(
            app[sessions_key], meeting_id, sites
        ),
    )
    app[signals_key].attendance_changed.append(app[hub_key].publish)
    app[signals_key].sites_changed.append(app[hub_key].heard)
    _observed(app)
    app.on_shutdown.append(app[hub_key].on_shutdown)
    app[site_lists_key] = SiteLists()
    app[later_key] = Later()
    app.on_shutdown.append(app[later_key].finish)
    app[logins_key] = LoginsUnderWay()
    app[callers_key] = Callers()
    security = app[settings_key].security
    app[link_failures_key] = FailureWindow(
        limit=security.site_link_max_failures_per_address,
        window_seconds=security.site_link_window_minutes * 60,
    )


def _templates(app: web.Application) -> None:
    """The Jinja environment: every part's templates, gettext, the filters and labels."""
    env = aiohttp_jinja2.setup(
        app,
        loader=i18n.template_loader(),
        autoescape=jinja2.select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        context_processors=[layout_context],
    )
    i18n.install_gettext(env)
    env.filters["day"] = i18n.format_day
    env.filters["moment"] = i18n.format_moment
    env.filters["count"] = i18n.format_count
    env.filters["day_off"] = workdays.day_off_label
    env.filters["zone"] = i18n.format_zone
    env.globals["role_labels"] = ROLE_LABELS
    env.globals["contact_role_labels"] = CONTACT_ROLE_LABELS
    env.globals["labels"] = {
        "kind": KIND_LABELS,
        "status": STATUS_LABELS,
        "agenda_kind": AGENDA_KIND_LABELS,
        "focus_status": FOCUS_STATUS_LABELS,
        "rsvp": RSVP_LABELS,
        "rsvp_source": RSVP_SOURCE_LABELS,
        "message_kind": MESSAGE_KIND_LABELS,
        "attendance": ATTENDANCE_LABELS,
        "rehearsal": REHEARSAL_LABELS,
        "contribution_kind": CONTRIBUTION_KIND_LABELS,
        "recommendation_status": RECOMMENDATION_STATUS_LABELS,
        "message_status": MESSAGE_STATUS_LABELS,
        "deadline": DEADLINE_LABELS,
    }


def _providers(app: web.Application) -> None:
    """What other parts add to the pages of meetings/ (panels, dashboard sections, phase
    facts, sites' links), so meetings/ need not import them."""
    panels: dict[str, list[PanelProvider]] = {
        "session": [
            notify_views.invitations_panel,
            inbound_views.inbox_panel,
            scheduler_views.timeline_panel,
            programme_views.programme_panel,
            carried_panel.carried_panel,
            request_views.report_requests_panel,
            attendance_panel.attendance_panel,
            minutes_panel.minutes_panel,
        ],
        "site": [notify_views.site_link_panel],
        # The register's clusters page: recommendations answered per cluster and series.
        "clusters": [answer_views.clusters_panel],
    }
    app[panels_key] = panels
    # Each role's dashboard: the chair's and secretary's follow-up, the organiser's sessions.
    dashboard: list[DashboardProvider] = [
        minutes_dashboard.chair_sections,
        cluster_views.leader_sections,
        minutes_dashboard.secretary_sections,
        minutes_dashboard.organiser_sections,
        mail_dashboard.organiser_sections,
        inbound_views.organiser_sections,
        mail_dashboard.notice_sections,
    ]
    app[dashboard_key] = dashboard
    # What decides a session's phase on its page, from the parts that know it.
    facts: list[FactsProvider] = [mail_facts.session_facts, minutes_facts.session_facts]
    app[session_facts_key] = facts
    # Only notify.site knows sites' links; the parts with forms under a link use these.
    app[site_resolver_key] = tokens.site_for_token
    app[site_form_page_key] = site_views.refused_form_page
    # What the scheduler chases by mail, each deciding what is due (scheduler.service.Chaser).
    settings = app[settings_key]
    chasers: list[Chaser] = [
        partial(overdue_actions.chase_overdue_actions, settings=settings),
        report_chases.chase_late_reports,
    ]
    app[chasers_key] = chasers


def create_app(settings: Settings) -> web.Application:
    # A body may carry the largest accepted document plus the form around it.
    max_body = max(MAX_BODY, settings.documents.max_bytes + 1024 * 1024)
    app = web.Application(client_max_size=max_body, middlewares=[error_middleware])
    app[settings_key] = settings
    # The cookie key is derived from the secret, so the secret may have any length.
    fernet_key = hashlib.sha256(settings.security.secret_key.encode()).digest()
    setup_session(
        app,
        EncryptedCookieStorage(
            fernet_key,
            cookie_name="giaoban_session",
            httponly=True,
            samesite="Lax",
            secure=settings.security.cookie_secure,
            max_age=settings.security.session_max_age,
        ),
    )
    app.middlewares.append(auth_middleware)
    app.middlewares.append(site_link_guard)
    app.on_response_prepare.append(security_headers)
    _templates(app)
    _own_state(app)
    app.cleanup_ctx.append(database_context)
    app.cleanup_ctx.append(listener_context)
    app.cleanup_ctx.append(delivery_context)
    app.cleanup_ctx.append(inbound_context)
    app.cleanup_ctx.append(scheduler_context)
    app.cleanup_ctx.append(video_poll_context)
    app[listening_key] = asyncio.Event()
    app.cleanup_ctx.append(public_url_context)
    app.cleanup_ctx.append(settled_heap)  # last: after every context has built its part
    _providers(app)
    mount(app, PARTS)
    static = app.router.add_static("/static", str(STATIC_DIR), name="static", append_version=True)
    # Versioned once: the route hashes the file at every url_for, i.e. twice per page.
    aiohttp_jinja2.get_env(app).globals["static_urls"] = {
        name: str(static.url_for(filename=name)) for name in ("app.css", "app.js")
    }
    return app
