"""How long a turn waits for the provider: for the first token, between two, and in all."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from chatkit.types import ThreadItemUpdatedEvent, ThreadStreamEvent

from backend.drain import Drain
from backend.settings import Settings


class UpstreamTimeout(Exception):
    def __init__(self, seconds: float, whole_turn: bool) -> None:
        super().__init__(seconds)
        self.seconds = seconds
        self.whole_turn = whole_turn


class ServerRestarting(Exception):
    """The server is stopping and its drain deadline came before the answer's end."""


@dataclass(frozen=True)
class Waits:
    first: float
    """Longest wait for the first text (reasoning models may need longer)."""
    between: float
    """Longest wait between two events once text arrives."""
    whole_turn: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Waits:
        return cls(
            first=settings.first_token_timeout or settings.upstream_timeout,
            between=settings.upstream_timeout,
            whole_turn=settings.turn_timeout,
        )


def _no_tool_running() -> float:
    return 0.0


async def bounded_waits(
    events: AsyncIterator[ThreadStreamEvent],
    waits: Waits,
    tool_time: Callable[[], float] = _no_tool_running,
    drain: Drain | None = None,
) -> AsyncIterator[ThreadStreamEvent]:
    """Relay ``events``; raise ``UpstreamTimeout`` when the provider keeps us waiting too long.

    Each wait for the next event is bounded (``waits.first`` until text starts to arrive): that
    clock is stopped while an event is handed on, so a slow client never counts against the
    provider there. While a tool runs, the wait is longer by ``tool_time()`` (the tool's own
    timeout): the model is not what the turn waits for then. The whole turn is bounded too, by
    the wall clock. And when the server drains (``drain``), by its deadline: ``ServerRestarting``.
    """
    loop = asyncio.get_running_loop()
    turn_deadline = loop.time() + waits.whole_turn
    stop_at = math.inf
    iterator = aiter(events)
    wait, whole_turn = waits.first, False
    try:
        async with asyncio.timeout(None) as deadline:

            def draining_until(at: float) -> None:
                nonlocal stop_at
                stop_at = at
                waiting_until = deadline.when()
                if waiting_until is not None and at < waiting_until:
                    deadline.reschedule(at)

            with drain.watch(draining_until) if drain else contextlib.nullcontext():
                while True:
                    allowed = wait + tool_time()
                    whole_turn = loop.time() + allowed >= turn_deadline
                    deadline.reschedule(min(loop.time() + allowed, turn_deadline, stop_at))
                    try:
                        event = await anext(iterator)
                    except StopAsyncIteration:
                        return
                    deadline.reschedule(None)
                    if isinstance(event, ThreadItemUpdatedEvent):  # text has started to arrive
                        wait = waits.between
                    yield event
    except TimeoutError:
        if not deadline.expired():  # raised by the stream itself, not by our clock
            raise
        if loop.time() >= stop_at:
            raise ServerRestarting from None
        raise UpstreamTimeout(waits.whole_turn if whole_turn else wait, whole_turn) from None
