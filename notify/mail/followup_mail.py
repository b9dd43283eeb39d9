"""The plain mails of the follow-up between sessions (issue #16): what each tells is
loaded once per batch of the delivery, and each is rendered by its own module (no
calendar, no letter)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from agendas.record.models import ActionItem
from meetings.core.settings import Settings
from meetings.planning.models import Meeting
from meetings.planning.request_models import ReportRequest
from meetings.register.models import Site
from notify.mail import answers, chases, overdue_actions
from notify.mail.models import Message, MessageKind
from notify.mail.transports import Outgoing

if TYPE_CHECKING:  # the renderer calls this module: it is only named here
    from notify.mail.render import MessageRenderer

#: The kinds rendered here.
KINDS = frozenset({MessageKind.recommendation_answer, MessageKind.report_chaser})


@dataclass
class FollowUp:
    #: The recommendations the batch's answer mails tell, by id.
    told: dict[int, answers.Told] = field(default_factory=dict)
    #: The report requests the batch's reminders tell, by id.
    requests: dict[int, ReportRequest] = field(default_factory=dict)
    #: The overdue action items the batch's reminders tell, by id (notify.mail.overdue_actions).
    overdue: dict[int, ActionItem] = field(default_factory=dict)

    @classmethod
    async def load(
        cls, session: AsyncSession, rows: Sequence[Message], settings: Settings
    ) -> FollowUp:
        told = await answers.answered(
            session,
            {row.recommendation_id for row in rows if row.recommendation_id},
            folder=settings.documents.dir,
        )
        overdue = await overdue_actions.chased_items(session, rows)
        return cls(told, await chases.requested(session, rows), overdue)

    def render(
        self,
        renderer: MessageRenderer,
        meeting: Meeting,
        site: Site,
        message: Message,
        site_url: str,
    ) -> Outgoing:
        if message.kind == MessageKind.report_chaser:
            request = self.requests.get(message.report_request_id or 0)
            return chases.render_chase(renderer, meeting, site, request, message, site_url)
        told = self.told.get(message.recommendation_id or 0)
        return answers.render_answer(renderer, meeting, site, told, message)
