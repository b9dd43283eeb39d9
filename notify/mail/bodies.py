"""The text and HTML bodies of a mailing: rendered once, then filled in for each site.

Every invited site reads the same letter but for its name, its room and the link to its
page. Rendering both templates (with their dates formatted by Babel) for each of
10,000 sites cost more than anything else of a message but the SMTP exchange, so a
batch renders them once per session, kind, language, time zone and presence of a room,
with marks where a site's own values go, and each site gets a copy with its values put
in — escaped in the HTML as the template escapes them. An update that tells each site
what changed for it is still rendered site by site.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2
from markupsafe import escape

from meetings.core.i18n import format_moment, translations
from meetings.core.settings import OrganisationSettings
from meetings.planning.models import Meeting
from meetings.register.models import Site
from notify.mail import versions
from notify.mail.models import MessageKind

_MARKS = {name: f"GBSTENCIL{name}0" for name in ("NAME", "ENDPOINT", "URL")}
_MARK = re.compile("GBSTENCIL(NAME|ENDPOINT|URL)0")


@dataclass(frozen=True)
class _SiteMark:
    """Stands for the site in a stencil. The templates read only its name; any other
    attribute is undefined, which the strict environment refuses, rather than every
    site getting the first one's."""

    name: str = _MARKS["NAME"]


@dataclass(frozen=True)
class Templates:
    text: jinja2.Template
    html: jinja2.Template
    organisation: OrganisationSettings


@dataclass(frozen=True)
class Wording:
    """What a body says of a session, the same for every site: kind, language, intro and
    programme (the agenda and documents; none for a short note)."""

    meeting: Meeting
    kind: MessageKind
    locale: str
    intro: str
    agenda: Sequence[Any]
    documents: Sequence[Any]


@dataclass
class Stencils:
    """The bodies of one batch (its programmes are read for the batch: never older)."""

    made: dict[tuple[Any, ...], tuple[str, str]] = field(default_factory=dict)

    def bodies(
        self,
        templates: Templates,
        wording: Wording,
        site: Site,
        *,
        site_url: str,
        endpoint: str,
        changes: list[versions.Change],
    ) -> tuple[str, str]:
        """The text and HTML bodies for this site."""
        zone = site.timezone or wording.meeting.timezone
        if changes:  # what changed differs from site to site
            return _render(templates, wording, site, site_url, endpoint, zone, changes)
        key = (wording.meeting.id, wording.kind, wording.locale, zone, bool(endpoint))
        if key not in self.made:
            mark = _MARKS["ENDPOINT"] if endpoint else ""
            self.made[key] = _render(templates, wording, _SiteMark(), _MARKS["URL"], mark, zone, [])
        text, html = self.made[key]
        values = {"NAME": site.name, "ENDPOINT": endpoint, "URL": site_url}
        escaped = {name: str(escape(value)) for name, value in values.items()}
        return (
            _MARK.sub(lambda found: values[found[1]], text),
            _MARK.sub(lambda found: escaped[found[1]], html),
        )


def _render(
    templates: Templates,
    wording: Wording,
    site: Site | _SiteMark,
    site_url: str,
    endpoint: str,
    zone: str,
    changes: list[versions.Change],
) -> tuple[str, str]:
    meeting, locale = wording.meeting, wording.locale
    context = {
        "kind": wording.kind.value,
        "intro": wording.intro,
        "meeting": meeting,
        "site": site,
        "site_url": site_url,
        "endpoint": endpoint,
        "changes": changes,
        "agenda": wording.agenda,
        "documents": wording.documents,
        "locale": locale,
        "organisation": templates.organisation,
        "translations": translations(locale),
        "starts": format_moment(meeting.starts_at, locale, meeting.timezone),
        "ends": format_moment(meeting.ends_at, locale, meeting.timezone),
        "site_timezone": zone,
        "local_starts": format_moment(meeting.starts_at, locale, zone)
        if zone != meeting.timezone
        else "",
    }
    return templates.text.render(context), templates.html.render(context)
