"""ProviderGate: a cap on concurrent upstream requests per provider, with a short queue in front."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack

import pytest

from backend.chat.gate import ProviderBusy, ProviderGate

LONG_WAIT = 60.0
"""A queue wait no test reaches: a test that would rely on it fails on its message instead."""


async def until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until ``condition`` holds (no clock involved)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


def waiting(gate: ProviderGate, provider: str) -> int:
    """How many turns wait in ``provider``'s queue (the gate shows it only in its messages)."""
    lane = gate._lanes.get(provider)
    return 0 if lane is None else lane.waiting


def active(gate: ProviderGate, provider: str) -> int:
    lane = gate._lanes.get(provider)
    return 0 if lane is None else lane.active


class Holder:
    """A turn that holds a slot until it is released."""

    def __init__(self, gate: ProviderGate, provider: str = "openai") -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.task = asyncio.create_task(self._run(gate, provider))

    async def _run(self, gate: ProviderGate, provider: str) -> None:
        async with gate.slot(provider):
            self.entered.set()
            await self.release.wait()

    async def done(self) -> None:
        self.release.set()
        await self.task


async def holding(gate: ProviderGate, count: int, provider: str = "openai") -> list[Holder]:
    holders = [Holder(gate, provider) for _ in range(count)]
    for holder in holders:
        await holder.entered.wait()
    return holders


async def test_up_to_concurrency_turns_get_a_slot_at_once() -> None:
    gate = ProviderGate(concurrency=3, queue=0, wait_seconds=LONG_WAIT)
    async with AsyncExitStack() as stack:
        for _ in range(3):
            await stack.enter_async_context(gate.slot("openai"))
        assert active(gate, "openai") == 3
        with pytest.raises(ProviderBusy) as refused:
            await stack.enter_async_context(gate.slot("openai"))
        assert str(refused.value) == "3 answers are in progress"


async def test_with_no_queue_the_turn_after_the_cap_is_refused_with_the_counts() -> None:
    gate = ProviderGate(concurrency=2, queue=0, wait_seconds=LONG_WAIT)
    holders = await holding(gate, 2)
    with pytest.raises(ProviderBusy) as refused:
        async with gate.slot("openai"):
            pytest.fail("a third turn got a slot")
    assert str(refused.value) == "2 answers are in progress"
    for holder in holders:
        await holder.done()


async def test_the_next_turn_waits_in_the_queue_and_gets_in_when_a_slot_is_released() -> None:
    gate = ProviderGate(concurrency=1, queue=1, wait_seconds=LONG_WAIT)
    [holder] = await holding(gate, 1)
    got_in = asyncio.Event()

    async def next_turn() -> None:
        async with gate.slot("openai"):
            got_in.set()

    waiter = asyncio.create_task(next_turn())
    await until(lambda: waiting(gate, "openai") == 1)
    assert not got_in.is_set()

    await holder.done()
    await waiter
    assert got_in.is_set()
    assert waiting(gate, "openai") == 0


async def test_a_full_queue_refuses_at_once_with_the_counts() -> None:
    gate = ProviderGate(concurrency=2, queue=1, wait_seconds=LONG_WAIT)
    holders = await holding(gate, 2)
    queued = Holder(gate)
    await until(lambda: waiting(gate, "openai") == 1)

    # At once: waiting for LONG_WAIT would end with the other message (no "waiting" count).
    with pytest.raises(ProviderBusy) as refused:
        async with gate.slot("openai"):
            pytest.fail("a turn beyond the queue got a slot")
    assert str(refused.value) == "2 answers are in progress and 1 waiting"

    for holder in holders:
        await holder.done()
    await queued.entered.wait()
    await queued.done()


async def test_a_turn_that_waits_longer_than_wait_seconds_is_refused() -> None:
    gate = ProviderGate(concurrency=1, queue=1, wait_seconds=0.05)
    [holder] = await holding(gate, 1)
    with pytest.raises(ProviderBusy) as refused:
        async with gate.slot("openai"):
            pytest.fail("the waiter got a slot that was never released")
    assert str(refused.value) == "1 answer is in progress"
    await holder.done()


async def test_a_waiter_refused_after_its_wait_leaves_the_queue() -> None:
    gate = ProviderGate(concurrency=1, queue=1, wait_seconds=0.05)
    [holder] = await holding(gate, 1)
    for _ in range(2):
        # Had the first left its place taken, the second would be refused at once, with the
        # "… and 1 waiting" message, instead of waiting its turn.
        with pytest.raises(ProviderBusy) as refused:
            async with gate.slot("openai"):
                pytest.fail("the waiter got a slot that was never released")
        assert str(refused.value) == "1 answer is in progress"
    assert waiting(gate, "openai") == 0
    await holder.done()


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    gate = ProviderGate(concurrency=1, queue=1, wait_seconds=LONG_WAIT)
    [holder] = await holding(gate, 1)
    stopped = Holder(gate)
    await until(lambda: waiting(gate, "openai") == 1)
    stopped.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopped.task
    assert waiting(gate, "openai") == 0

    queued = Holder(gate)  # would be refused at once if the cancelled one still counted
    await until(lambda: waiting(gate, "openai") == 1)
    await holder.done()
    await queued.entered.wait()
    await queued.done()


async def test_the_lanes_of_two_providers_are_independent() -> None:
    gate = ProviderGate(concurrency=1, queue=0, wait_seconds=LONG_WAIT)
    [openai_turn] = await holding(gate, 1, "openai")

    async with gate.slot("gemini"):
        with pytest.raises(ProviderBusy) as refused:
            async with gate.slot("gemini"):
                pytest.fail("a second gemini turn got a slot")
        assert str(refused.value) == "1 answer is in progress"

    with pytest.raises(ProviderBusy):
        async with gate.slot("openai"):
            pytest.fail("a second openai turn got a slot")
    await openai_turn.done()


async def test_a_failure_inside_the_slot_gives_the_slot_back() -> None:
    gate = ProviderGate(concurrency=2, queue=1, wait_seconds=LONG_WAIT)
    for _ in range(3):
        with pytest.raises(RuntimeError, match="upstream broke"):
            async with gate.slot("openai"):
                raise RuntimeError("upstream broke")
    assert (active(gate, "openai"), waiting(gate, "openai")) == (0, 0)

    # Both slots are free again, and the refusal counts only what really runs and waits.
    holders = await holding(gate, 2)
    queued = Holder(gate)
    await until(lambda: waiting(gate, "openai") == 1)
    with pytest.raises(ProviderBusy) as refused:
        async with gate.slot("openai"):
            pytest.fail("a turn beyond the queue got a slot")
    assert str(refused.value) == "2 answers are in progress and 1 waiting"
    for holder in holders:
        await holder.done()
    await queued.done()


async def test_a_failure_after_waiting_in_the_queue_gives_the_slot_back() -> None:
    gate = ProviderGate(concurrency=1, queue=1, wait_seconds=LONG_WAIT)
    [holder] = await holding(gate, 1)

    async def failing_turn() -> None:
        async with gate.slot("openai"):
            raise RuntimeError("upstream broke")

    failing = asyncio.create_task(failing_turn())
    await until(lambda: waiting(gate, "openai") == 1)
    await holder.done()
    with pytest.raises(RuntimeError, match="upstream broke"):
        await failing
    assert (active(gate, "openai"), waiting(gate, "openai")) == (0, 0)

    [again] = await holding(gate, 1)
    queued = Holder(gate)
    await until(lambda: waiting(gate, "openai") == 1)
    with pytest.raises(ProviderBusy) as refused:
        async with gate.slot("openai"):
            pytest.fail("a turn beyond the queue got a slot")
    assert str(refused.value) == "1 answer is in progress and 1 waiting"
    await again.done()
    await queued.done()
