"""The composition root: builds the application from settings; nothing runs at import."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from agendas.minutes import routes as minutes_routes
from agendas.programme.labels import AGENDA_KIND_LABELS, FOCUS_STATUS_LABELS
from agendas.record import routes as record_routes
from agendas.record.labels import CONTRIBUTION_KIND_LABELS, RECOMMENDATION_STATUS_LABELS
from meetings.accounts import routes as accounts_routes
from meetings.accounts.labels import ROLE_LABELS
from meetings.attendance import live
from meetings.attendance import routes as attendance_routes
from meetings.attendance import tracking as attendance
from meetings.attendance.checkin import CheckInBatcher
from meetings.attendance.labels import ATTENDANCE_LABELS, REHEARSAL_LABELS
from meetings.attendance.video_poller import video_poll_context
from meetings.core import i18n, signals
from meetings.core import routes as core_routes
from meetings.core.keys import checkin_key, engine_key, panels_key, sessions_key, settings_key
from meetings.core.middlewares import auth_middleware, error_middleware, page_context
from meetings.core.routing import mount
from meetings.core.settings import Settings
from meetings.core.store import create_engine, session_maker
from meetings.planning import routes as planning_routes
from meetings.planning.labels import DEADLINE_LABELS, KIND_LABELS, RSVP_LABELS, STATUS_LABELS
from meetings.register import routes as register_routes
from meetings.register.labels import CONTACT_ROLE_LABELS
from notify.mail import invitations
from notify.mail import routes as mail_routes
from notify.mail import views as notify_views
from notify.mail.labels import MESSAGE_KIND_LABELS, MESSAGE_STATUS_LABELS
from notify.mail.worker import delivery_context
from notify.site import routes as site_routes
from scheduler import service as scheduler_service
from scheduler import views as scheduler_views
from scheduler.context import scheduler_context

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
#: Every part's routes, in the order they are mounted.
PARTS = (
    core_routes.ROUTES,
    accounts_routes.ROUTES,
    register_routes.ROUTES,
    planning_routes.ROUTES,
    attendance_routes.ROUTES,
    record_routes.ROUTES,
    minutes_routes.ROUTES,
    mail_routes.ROUTES,
    site_routes.ROUTES,
)
#: The smallest body limit (a big XLSX import); larger bodies get 413.
MAX_BODY = 30 * 1024 * 1024


async def database_context(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[settings_key].database)
    app[engine_key] = engine
    app[sessions_key] = session_maker(engine)
    app[checkin_key] = CheckInBatcher(app[sessions_key], app[settings_key].attendance)
    yield
    await engine.dispose()


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
    env = aiohttp_jinja2.setup(
        app,
        loader=i18n.template_loader(),
        autoescape=jinja2.select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        context_processors=[page_context],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.ctx_gettext, i18n.ctx_ngettext, newstyle=True
    )
    env.filters["day"] = i18n.format_day
    env.filters["moment"] = i18n.format_moment
    env.filters["count"] = i18n.format_count
    env.globals["role_labels"] = ROLE_LABELS
    env.globals["contact_role_labels"] = CONTACT_ROLE_LABELS
    env.globals["labels"] = {
        "kind": KIND_LABELS,
        "status": STATUS_LABELS,
        "agenda_kind": AGENDA_KIND_LABELS,
        "focus_status": FOCUS_STATUS_LABELS,
        "rsvp": RSVP_LABELS,
        "message_kind": MESSAGE_KIND_LABELS,
        "attendance": ATTENDANCE_LABELS,
        "rehearsal": REHEARSAL_LABELS,
        "contribution_kind": CONTRIBUTION_KIND_LABELS,
        "recommendation_status": RECOMMENDATION_STATUS_LABELS,
        "message_status": MESSAGE_STATUS_LABELS,
        "deadline": DEADLINE_LABELS,
    }
    app.cleanup_ctx.append(database_context)
    app.cleanup_ctx.append(delivery_context)
    app.cleanup_ctx.append(scheduler_context)
    app.cleanup_ctx.append(video_poll_context)
    # The composition root is the one place that knows every package: wire them here.
    signals.meeting_cancelled.connect(invitations.queue_cancellations)
    signals.minutes_approved.connect(invitations.queue_minutes_notice)
    signals.meeting_changed.connect(scheduler_service.meeting_changed)
    attendance.subscribe(live.HUB.publish)  # committed changes reach the open boards
    app.on_shutdown.append(live.on_shutdown)
    app[panels_key] = {
        "session": [notify_views.invitations_panel, scheduler_views.timeline_panel],
        "site": [notify_views.site_link_panel],
    }
    mount(app, PARTS)
    app.router.add_static("/static", str(STATIC_DIR), name="static", append_version=True)
    return app
