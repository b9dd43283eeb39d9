"""Counting failures per key (an address) over a sliding window, in this process's memory."""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class FailureWindow:
    """Failure times per key over a sliding window, for at most `keys` keys (the least
    recently failing are forgotten first, so a flood of addresses cannot fill memory)."""

    def __init__(
        self,
        *,
        limit: int,
        window_seconds: float,
        keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self.keys = keys
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def add(self, key: str) -> None:
        failures = self._failures.setdefault(key, deque(maxlen=self.limit))
        failures.append(self.clock())
        self._failures.move_to_end(key)
        while len(self._failures) > self.keys:
            self._failures.popitem(last=False)

    def wait(self, key: str) -> int:
        """Seconds until `key` is below the limit again; 0 when it is below it now."""
        failures = self._failures.get(key)
        if failures is None or len(failures) < self.limit:
            return 0
        left = failures[0] + self.window - self.clock()
        if left <= 0:
            failures.popleft()
            return 0
        return max(math.ceil(left), 1)
