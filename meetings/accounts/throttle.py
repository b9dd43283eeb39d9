"""Login throttling: refused per user name and per address before any password is hashed.

Failures are rows, not process memory, so several workers share one count. A failure is
stored only once its Argon2 hash is done, so a burst of concurrent guesses would all pass
that count and each cost a hash (a CPU denial of service); the logins still under way in
this process are therefore counted as failures until they are settled.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.accounts.models import LoginAttempt
from meetings.core.errors import TooManyAttempts
from meetings.core.labels import N_
from meetings.core.store import utcnow

#: Refused only because other logins of the name or address are under way: one hash's time.
BUSY_RETRY_SECONDS = 1


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int
    max_failures_per_address: int
    window: timedelta


class LoginsUnderWay:
    """The logins of this process not yet settled, per user name and per address."""

    def __init__(self) -> None:
        self._names: Counter[str] = Counter()
        self._addresses: Counter[str] = Counter()

    @contextmanager
    def attempt(self, *, username: str, address: str) -> Iterator[LoginTurn]:
        """Counts this login as under way until the block ends (its failure committed)."""
        self._names[username] += 1
        self._addresses[address] += 1
        try:
            yield LoginTurn(self, username=username, address=address)
        finally:
            for counter, key in ((self._names, username), (self._addresses, address)):
                counter[key] -= 1
                if counter[key] <= 0:
                    del counter[key]

    def others(self, *, username: str, address: str) -> tuple[int, int]:
        """Logins under way besides the caller's own, for the name and for the address."""
        return max(self._names[username] - 1, 0), max(self._addresses[address] - 1, 0)


@dataclass(frozen=True)
class LoginTurn:
    """One login attempt: who it claims to be, from where, among the others under way."""

    under_way: LoginsUnderWay
    username: str
    address: str


async def _failures(
    session: AsyncSession, whose: ColumnElement[bool], since: datetime
) -> tuple[int, datetime | None]:
    """How many failures match `whose` in the window, and when the oldest of them was."""
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(col(LoginAttempt.at))).where(
                whose, col(LoginAttempt.at) >= since
            )
        )
    ).one()
    return int(count or 0), oldest


async def refuse_if_throttled(
    session: AsyncSession, *, turn: LoginTurn, policy: LoginPolicy
) -> None:
    """TooManyAttempts (with the seconds to wait) when the name or the address has had its
    failures in the window, counting the logins under way; called before any hash."""
    now = utcnow()
    since = now - policy.window
    by_name, oldest_by_name = await _failures(
        session, col(LoginAttempt.username) == turn.username[:64], since
    )
    by_address, oldest_by_address = await _failures(
        session, col(LoginAttempt.address) == turn.address[:64], since
    )
    # Read after the queries: nothing else runs between this and the caller's hash.
    busy_name, busy_address = turn.under_way.others(username=turn.username, address=turn.address)
    waits = []
    for stored, busy, limit, oldest in (
        (by_name, busy_name, policy.max_failures, oldest_by_name),
        (by_address, busy_address, policy.max_failures_per_address, oldest_by_address),
    ):
        if stored >= limit and oldest is not None:
            waits.append(math.ceil((oldest + policy.window - now).total_seconds()))
        elif stored + busy >= limit:
            waits.append(BUSY_RETRY_SECONDS)
    if waits:
        raise TooManyAttempts(
            N_("too many failed logins; wait before trying again"),
            retry_after_seconds=max(max(waits), 1),
        )
