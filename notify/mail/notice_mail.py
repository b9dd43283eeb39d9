"""The e-mail of a notice to the chair or the secretary: pure, from the session row.

Not a site's message (no site, no calendar, no letter): the session's title and time,
what is ready, and the link to its minutes page. In the organisation's language, since
accounts have no language of their own.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import jinja2

from agendas.minutes.links import minutes_page_url
from meetings.core.i18n import format_moment, translations
from meetings.core.labels import N_
from meetings.core.settings import Settings
from meetings.planning.models import Meeting
from notify.mail.compose import Rendered, compose
from notify.mail.ical import Person
from notify.mail.models import Message, MessageKind
from notify.mail.transports import Outgoing

#: The kinds rendered here rather than as a site's message.
NOTICE_KINDS = frozenset({MessageKind.minutes_ready})
SUBJECT = N_("Draft minutes ready")
INTRO = N_(
    "The following session has ended. Its draft minutes are ready: the secretary completes "
    "the record, the chair approves a version, then the notice of conclusions goes to "
    "the sites."
)


def render_notice(
    env: jinja2.Environment,
    settings: Settings,
    sender: Person,
    meeting: Meeting,
    message: Message,
    *,
    now: datetime,
) -> Outgoing:
    """One notice e-mail (text and HTML) to the account in `message`."""
    locale = settings.organisation.locale
    gettext = translations(locale).gettext
    context = {
        "intro": gettext(INTRO),
        "meeting": meeting,
        "recipient_name": message.recipient_name,
        "starts": format_moment(meeting.starts_at, locale, meeting.timezone),
        "ends": format_moment(meeting.ends_at, locale, meeting.timezone),
        "minutes_url": minutes_page_url(settings.server.public_url, meeting.id or 0),
        "organisation": settings.organisation,
        "locale": locale,
        "translations": translations(locale),
    }
    text = env.get_template("mail/notice.txt").render(context)
    html = env.get_template("mail/notice.html").render(context)
    day = meeting.starts_at.astimezone(ZoneInfo(meeting.timezone)).strftime("%d/%m/%Y")
    return compose(
        sender=sender,
        recipient=Person(message.recipient_name, message.recipient),
        rendered=Rendered(f"[{gettext(SUBJECT)}] {meeting.title} — {day}", text, html),
        calendar=None,
        method=None,
        now=now,
    )
