"""Draining: a server told to stop takes no new requests and gives running answers a deadline.

uvicorn, on a signal, stops accepting at once and then waits for running responses; the app
learns nothing of it until it cancels what is left, which the ChatKit SDK would store as "the user
cancelled". So ``backend.serve`` tells this object first: from then on ``/readyz`` says not ready,
new requests get a retryable 503 (a load balancer sends them to another replica), and every turn
still waiting on its provider is woken at the deadline to end with a retryable "restarting" error,
its partial answer kept (``backend.chat.waits``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)

DeadlineListener = Callable[[float], None]
"""Told the drain's deadline (event-loop time) when draining begins."""


class Drain:
    def __init__(self) -> None:
        self._deadline = math.inf
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listeners: set[DeadlineListener] = set()

    @property
    def draining(self) -> bool:
        return self._deadline < math.inf

    @property
    def deadline(self) -> float:
        """When running answers are ended (event-loop time); infinite while not draining."""
        return self._deadline

    def ended(self) -> bool:
        """Whether the deadline has passed: what still runs is being ended by the shutdown."""
        return self.draining and asyncio.get_running_loop().time() >= self._deadline

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the server runs on, for ``begin_soon`` (called from a signal handler)."""
        self._loop = loop

    def begin_soon(self, seconds: float) -> None:
        """Start draining with ``seconds`` of grace; safe from a signal handler or a thread."""
        if self._loop is not None and not self._loop.is_closed():
            # A fresh context: not that of the request the signal happened to interrupt.
            self._loop.call_soon_threadsafe(self.begin, seconds, context=contextvars.Context())

    def begin(self, seconds: float) -> None:
        """Start draining (on the loop). A second call may only bring the deadline closer (a
        second Ctrl+C after a SIGTERM)."""
        deadline = asyncio.get_running_loop().time() + seconds
        if deadline >= self._deadline:
            return
        self._deadline = deadline
        log.info(
            "draining: no new requests; %d running answer(s) have %g s to finish",
            len(self._listeners),
            seconds,
        )
        for listener in list(self._listeners):
            listener(deadline)

    @contextlib.contextmanager
    def watch(self, listener: DeadlineListener) -> Iterator[None]:
        """Call ``listener`` with the deadline when draining begins (at once if it has) while
        the block runs."""
        if self.draining:
            listener(self._deadline)
        self._listeners.add(listener)
        try:
            yield
        finally:
            self._listeners.discard(listener)
