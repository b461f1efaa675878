"""bounded_waits: how long a turn waits for the first token, between two, and in all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import datetime

import pytest
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadStreamEvent,
)

from backend.chat.waits import ServerRestarting, UpstreamTimeout, Waits, bounded_waits
from backend.drain import Drain
from tests.support.contexts import settings_with

LONG = 60.0
"""A wait no test reaches: a test relying on it would fail on the reported seconds instead."""


def message(text: str = "") -> AssistantMessageItem:
    return AssistantMessageItem(
        id="msg_1",
        thread_id="thr_1",
        created_at=datetime(2026, 1, 1),
        content=[AssistantMessageContent(text=text)],
    )


def added() -> ThreadItemAddedEvent:
    return ThreadItemAddedEvent(item=message())


def delta(text: str) -> ThreadItemUpdatedEvent:
    return ThreadItemUpdatedEvent(
        item_id="msg_1",
        update=AssistantMessageContentPartTextDelta(content_index=0, delta=text),
    )


def done(text: str) -> ThreadItemDoneEvent:
    return ThreadItemDoneEvent(item=message(text))


async def provider(
    events: Iterable[ThreadStreamEvent], then_hang: bool = False
) -> AsyncIterator[ThreadStreamEvent]:
    """A provider that sends ``events`` at once, then ends or goes silent for good."""
    for event in events:
        yield event
    if then_hang:
        await asyncio.Event().wait()


async def collect(
    events: AsyncIterator[ThreadStreamEvent], waits: Waits
) -> tuple[list[ThreadStreamEvent], UpstreamTimeout | None]:
    received: list[ThreadStreamEvent] = []
    try:
        async for event in bounded_waits(events, waits):
            received.append(event)
    except UpstreamTimeout as timeout:
        return received, timeout
    return received, None


async def test_a_provider_silent_from_the_start_times_out_after_the_first_token_wait() -> None:
    received, timeout = await collect(
        provider([], then_hang=True), Waits(first=0.05, between=LONG, whole_turn=LONG)
    )
    assert received == []
    assert timeout is not None
    assert (timeout.seconds, timeout.whole_turn) == (0.05, False)


async def test_events_before_the_text_starts_still_get_the_first_token_wait() -> None:
    # The item is announced, but no text has come yet: a reasoning model is still thinking.
    received, timeout = await collect(
        provider([added()], then_hang=True), Waits(first=0.05, between=0.2, whole_turn=LONG)
    )
    assert [event.type for event in received] == ["thread.item.added"]
    assert timeout is not None
    assert (timeout.seconds, timeout.whole_turn) == (0.05, False)


async def test_once_text_arrives_the_between_tokens_wait_applies() -> None:
    received, timeout = await collect(
        provider([added(), delta("Hel")], then_hang=True),
        Waits(first=0.2, between=0.05, whole_turn=LONG),
    )
    assert [event.type for event in received] == ["thread.item.added", "thread.item.updated"]
    assert timeout is not None
    assert (timeout.seconds, timeout.whole_turn) == (0.05, False)


async def test_the_whole_turn_limit_ends_a_turn_that_would_wait_past_it() -> None:
    received, timeout = await collect(
        provider([added(), delta("Hel")], then_hang=True),
        Waits(first=0.3, between=0.3, whole_turn=0.05),
    )
    assert len(received) == 2
    assert timeout is not None
    assert (timeout.seconds, timeout.whole_turn) == (0.05, True)


async def test_a_silent_start_past_the_whole_turn_limit_reports_the_whole_turn() -> None:
    _, timeout = await collect(
        provider([], then_hang=True), Waits(first=0.3, between=0.3, whole_turn=0.05)
    )
    assert timeout is not None
    assert (timeout.seconds, timeout.whole_turn) == (0.05, True)


async def test_a_finished_stream_ends_normally_with_every_event_in_order() -> None:
    events = [added(), delta("Hel"), delta("lo"), done("Hello")]
    received, timeout = await collect(
        provider(events), Waits(first=0.05, between=0.05, whole_turn=LONG)
    )
    assert timeout is None
    assert received == events


async def test_a_slow_consumer_never_counts_against_the_provider() -> None:
    # The provider has every event ready at once; the client takes four times the wait to take
    # each one. Only the provider's waits count, so nothing times out.
    events = [added(), delta("Hel"), delta("lo"), done("Hello")]
    received: list[ThreadStreamEvent] = []
    async for event in bounded_waits(
        provider(events), Waits(first=0.05, between=0.05, whole_turn=LONG)
    ):
        received.append(event)
        await asyncio.sleep(0.2)  # the slow client, not a synchronisation
    assert received == events


async def test_an_error_from_the_provider_passes_through_unchanged() -> None:
    async def failing() -> AsyncIterator[ThreadStreamEvent]:
        yield added()
        raise ConnectionResetError("peer went away")

    received: list[ThreadStreamEvent] = []
    with pytest.raises(ConnectionResetError, match="peer went away"):
        async for event in bounded_waits(
            failing(), Waits(first=LONG, between=LONG, whole_turn=LONG)
        ):
            received.append(event)
    assert len(received) == 1


def test_the_waits_come_from_the_settings() -> None:
    settings = settings_with(upstream_timeout=20, first_token_timeout=90, turn_timeout=300)
    assert Waits.from_settings(settings) == Waits(first=90, between=20, whole_turn=300)


def test_without_a_first_token_timeout_the_first_wait_is_the_upstream_timeout() -> None:
    settings = settings_with(upstream_timeout=20, turn_timeout=300)
    assert Waits.from_settings(settings) == Waits(first=20, between=20, whole_turn=300)


def test_the_default_waits() -> None:
    assert Waits.from_settings(settings_with()) == Waits(first=60, between=60, whole_turn=600)


async def test_a_drain_beginning_during_a_wait_ends_it_at_the_drain_deadline() -> None:
    drain = Drain()
    text_arrived = asyncio.Event()

    async def turn() -> None:
        async for event in bounded_waits(
            provider([added(), delta("Hel")], then_hang=True),
            Waits(first=LONG, between=LONG, whole_turn=LONG),
            drain=drain,
        ):
            if isinstance(event, ThreadItemUpdatedEvent):
                text_arrived.set()  # from here on the turn waits on the silent provider

    running = asyncio.create_task(turn())
    await asyncio.wait_for(text_arrived.wait(), LONG)
    drain.begin(0.05)
    with pytest.raises(ServerRestarting):
        await asyncio.wait_for(running, LONG)


async def test_a_turn_starting_while_draining_has_only_the_time_left() -> None:
    drain = Drain()
    drain.begin(0.05)
    with pytest.raises(ServerRestarting):
        async for _ in bounded_waits(
            provider([], then_hang=True),
            Waits(first=LONG, between=LONG, whole_turn=LONG),
            drain=drain,
        ):
            pass


async def test_a_turn_that_ends_before_the_drain_deadline_ends_normally() -> None:
    drain = Drain()
    drain.begin(LONG)
    events = [added(), delta("Hel"), done("Hel")]
    received = [
        event
        async for event in bounded_waits(
            provider(events), Waits(first=LONG, between=LONG, whole_turn=LONG), drain=drain
        )
    ]
    assert received == events
