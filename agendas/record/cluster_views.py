"""The cluster leader's home gets its sites' action items from the record."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agendas.record.cluster_actions import cluster_actions
from agendas.record.labels import ACTION_STATUS_LABELS
from meetings.accounts.models import Role, User
from meetings.core.store import utcnow
from meetings.core.web import db


async def leader_sections(request: web.Request, user: User) -> list[dict[str, Any]]:
    """The cluster leader's home: its sites' action items across all sessions."""
    if user.role != Role.cluster_leader or user.cluster_id is None:
        return []
    async with db(request) as session:
        found = await cluster_actions(session, user.cluster_id, now=utcnow())
    return [
        {
            "template": "record/cluster_actions.html",
            "order": 20,
            "actions": found,
            "status_labels": ACTION_STATUS_LABELS,
        }
    ]
