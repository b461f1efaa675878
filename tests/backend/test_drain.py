"""Drain: the deadline running answers get once the server is told to stop."""

from __future__ import annotations

import asyncio
import math

from backend.drain import Drain


async def test_listeners_hear_the_deadline_when_draining_begins_or_at_once_if_it_has() -> None:
    drain = Drain()
    heard: list[float] = []
    with drain.watch(heard.append):
        assert not drain.draining and drain.deadline == math.inf
        drain.begin(30)
    assert drain.draining and heard == [drain.deadline]
    with drain.watch(heard.append):
        pass
    assert heard == [drain.deadline, drain.deadline]


async def test_a_second_signal_may_bring_the_deadline_closer_never_further() -> None:
    drain = Drain()
    drain.begin(30)
    first = drain.deadline
    drain.begin(60)
    assert drain.deadline == first
    drain.begin(0)
    assert drain.deadline < first
    assert drain.ended()


async def test_begin_soon_starts_draining_on_the_loop_from_elsewhere() -> None:
    drain = Drain()
    drain.attach(asyncio.get_running_loop())
    await asyncio.to_thread(drain.begin_soon, 5)  # as from a signal handler or another thread
    for _ in range(1000):
        if drain.draining:
            break
        await asyncio.sleep(0.01)
    assert drain.draining and not drain.ended()
