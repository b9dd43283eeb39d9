"""An action item's history: every change of its status is a row (ActionChange) naming
who made it and why, written by the one function that changes the status. Marking an
item done sets its `done_at` (what "done on time" is judged by); any other status clears
it. The scheduler's reminders of an overdue item are written here too (its status kept).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.record.models import ActionChange, ActionChangePublic, ActionItem, ActionStatus
from meetings.core.labels import N_
from meetings.core.store import id_of, utcnow

#: The history's author of the scheduler's reminder of an overdue item, and of an overdue
#: item whose owner no mail can reach; the record page names them in its language.
REMINDED, NO_ADDRESS = "scheduler:reminded", "scheduler:no_address"
AUTHOR_LABELS = {
    REMINDED: N_("Overdue: reminder mailed"),
    NO_ADDRESS: N_("Overdue: no address to remind"),
}


def set_status(
    session: AsyncSession, item: ActionItem, status: ActionStatus, *, by: str, note: str = ""
) -> bool:
    """Move `item` to `status` and write the change to its history; False (nothing
    written) when it is at that status already."""
    if item.status == status:
        return False
    item.status = status
    item.done_at = utcnow() if status == ActionStatus.done else None
    note_change(session, item, by=by, note=note)
    return True


def note_change(session: AsyncSession, item: ActionItem, *, by: str, note: str = "") -> None:
    """A line in the item's history at its current status (a creation, a reminder)."""
    session.add(
        ActionChange(action_item_id=id_of(item), status=item.status, by=by, note=note[:1000])
    )


async def histories(
    session: AsyncSession, item_ids: Collection[int]
) -> dict[int, list[ActionChangePublic]]:
    """Each item's changes, oldest first, in one query."""
    found: dict[int, list[ActionChangePublic]] = {}
    if not item_ids:
        return found
    rows = await session.scalars(
        select(ActionChange)
        .where(col(ActionChange.action_item_id).in_(item_ids))
        .order_by(col(ActionChange.action_item_id), col(ActionChange.at), col(ActionChange.id))
    )
    for row in rows.all():
        found.setdefault(row.action_item_id, []).append(
            ActionChangePublic.model_validate(row, from_attributes=True)
        )
    return found
