"""What many requests read alike (meetings.core.shared): a page that only shows the time
relative to now is served as last read while the new minute's is read, never once the
database has changed."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

import pytest

from meetings.core.shared import Shared


def _at(marker: int):  # type: ignore[no-untyped-def]
    """Whether what is kept was read at `marker` (as kept_in asks): only its minute older."""

    def same_data(kept: Hashable) -> bool:
        return isinstance(kept, tuple) and kept[:2] == ("page", marker)

    return same_data


async def test_the_last_minutes_page_is_served_while_one_read_makes_the_new_one():
    store: Shared[str] = Shared()
    reads: list[str] = []
    release = asyncio.Event()

    async def read(text: str) -> str:
        reads.append(text)
        if text == "minute 101":
            await release.wait()
        return text

    assert await store.get(1, ("page", 5, 100), lambda: read("minute 100")) == "minute 100"
    for _ in range(3):  # the new minute: no caller waits, one read is started
        served = await store.get_or_kept(1, ("page", 5, 101), lambda: read("minute 101"), _at(5))
        assert served == "minute 100"
    release.set()
    for _ in range(10):  # the read's task ends within a few turns of the loop
        if store.peek(1) == "minute 101":
            break
        await asyncio.sleep(0)
    assert store.peek(1) == "minute 101"
    assert reads == ["minute 100", "minute 101"]


async def test_after_a_commit_every_caller_waits_for_the_new_read():
    store: Shared[str] = Shared()
    assert await store.get(1, ("page", 5, 100), _text("before")) == "before"
    # Marker 6: something was committed; what was kept at 5 is never served again.
    assert await store.get_or_kept(1, ("page", 6, 100), _text("after"), _at(6)) == "after"
    # And at marker 6, the next minute serves what was read at 6 while it reads again.
    assert await store.get_or_kept(1, ("page", 6, 101), _text("later"), _at(6)) == "after"


def _text(text: str):  # type: ignore[no-untyped-def]
    async def read() -> str:
        return text

    return read


async def test_a_new_minutes_read_that_fails_is_heard_by_the_next_caller():
    store: Shared[str] = Shared()
    assert await store.get(1, ("page", 5, 100), _text("minute 100")) == "minute 100"

    async def failing() -> str:
        raise LookupError("gone")

    assert await store.get_or_kept(1, ("page", 5, 101), failing, _at(5)) == "minute 100"
    for _ in range(10):  # the failed read's task ends within a few turns of the loop
        if store.peek(1) is None:
            break
        await asyncio.sleep(0)
    with pytest.raises(LookupError):
        await store.get_or_kept(1, ("page", 5, 101), failing, _at(5))
