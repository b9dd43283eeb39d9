"""Domain events other packages react to, inside the same transaction.

`meetings` must not import `notify` (dependencies point one way), yet cancelling a
session has to queue its CANCEL messages in the same transaction. The composition root
connects the receivers; the domain only says what happened.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

Receiver = Callable[[AsyncSession, int], Awaitable[object]]


class Signal:
    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: list[Receiver] = []

    def connect(self, receiver: Receiver) -> None:
        if receiver not in self._receivers:  # create_app may run more than once
            self._receivers.append(receiver)

    async def send(self, session: AsyncSession, meeting_id: int) -> None:
        for receiver in self._receivers:
            await receiver(session, meeting_id)


#: A session was cancelled (receivers queue the cancellations).
meeting_cancelled = Signal("meeting_cancelled")

#: A session was created or changed: time, invited sites, status (receivers re-plan its
#: reminders and timed changes once the transaction commits).
meeting_changed = Signal("meeting_changed")

#: A session ended on schedule: its draft minutes are due to the secretary and chair.
minutes_due = Signal("minutes_due")

#: The chair approved a version of a session's minutes (receivers queue the notice of
#: conclusions with the minutes to every invited site).
minutes_approved = Signal("minutes_approved")
